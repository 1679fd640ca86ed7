/**
 * The published models of a cell: each spec with its address watchable (WatchLoc) and ready counter
 * (WaitForReady).
 */
import { SaxError } from "../common/errors.js";
import type { Model } from "../gen/sax/admin.js";
import { ReadyCounter } from "./ready-counter.js";
import { Watchable } from "./watchable.js";

/** One published model. */
export interface PublishedModel {
  spec: Model;
  readonly addresses: Watchable;
  readonly ready: ReadyCounter;
}

/** Published models by id. */
export class PublishedModels {
  private readonly byId = new Map<string, PublishedModel>();

  get(id: string): PublishedModel | undefined {
    return this.byId.get(id);
  }

  /** Returns the model or throws NOT_FOUND. */
  require(id: string): PublishedModel {
    const model = this.byId.get(id);
    if (!model) throw new SaxError("NOT_FOUND", `model ${id} is not published`, { model: id });
    return model;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** Adds a model with a fresh watchable and counter. */
  add(spec: Model): PublishedModel {
    const model = { spec, addresses: new Watchable(), ready: new ReadyCounter() };
    this.byId.set(spec.modelId, model);
    return model;
  }

  /** Removes a model: its watchers get an empty set, its waiters CANCELLED. */
  remove(id: string): void {
    const model = this.byId.get(id);
    if (!model) return;
    this.byId.delete(id);
    model.addresses.close();
    model.ready.close(new SaxError("CANCELLED", `model ${id} was unpublished`, { model: id }));
  }

  all(): PublishedModel[] {
    return [...this.byId.values()];
  }

  /** The specs to persist (with uuids). */
  specs(): Model[] {
    return this.all().map((m) => m.spec);
  }
}
