/**
 * The admin facet of one cell: publishing and listing models, readiness, address watches and ACLs, each
 * a retrying admin RPC (admin-rpc.ts). Model ids are checked against the cell before any RPC.
 */
import { readConfig } from "../common/cell-layout.js";
import { SaxError } from "../common/errors.js";
import type { FsRoot } from "../common/fs-root.js";
import { parseModelIdInCell, type CellId } from "../common/naming.js";
import { chipTopologyName, chipTypeName } from "../common/platform.js";
import {
  ListRequest,
  PublishRequest,
  StatsRequest,
  UnpublishRequest,
  UpdateRequest,
  WaitForReadyRequest,
  type Model,
  type PublishedModel,
} from "../gen/sax/admin.js";
import { AddressSet } from "./address-set.js";
import { ADMIN_METHODS, type AdminRpc } from "./admin-rpc.js";
import { CallScope, ScopeEndedError } from "./call-scope.js";
import { sequenceOf } from "./sequence.js";
import type {
  AddressUpdate,
  CallOptions,
  CellStats,
  ListedModel,
  ModelAcls,
  ModelUpdate,
  PublishSpec,
  SetAclOptions,
} from "./types.js";
import { watchLoc } from "./watch-loc.js";

/** Admin calls of one cell. Get one with {@link Sax.admin}. */
export class SaxAdmin {
  /** @internal built by {@link Sax.admin} */
  constructor(
    private readonly cellId: CellId,
    private readonly rpc: AdminRpc,
    private readonly saxRoot: () => Promise<FsRoot>,
    private readonly closed: AbortSignal,
  ) {}

  /** The cell id, `/sax/<cell>`. */
  get cell(): string {
    return this.cellId.full;
  }

  /** The admin's `host:port`, as location.proto gives it (or as last found reachable). */
  async adminAddress(options: CallOptions = {}): Promise<string> {
    const scope = new CallScope(options, this.closed, `finding the admin of ${this.cell}`);
    try {
      return await Promise.race([this.rpc.address(), scope.whenEnded()]);
    } catch (err) {
      throw err instanceof ScopeEndedError ? scope.failure() : err;
    } finally {
      scope.close();
    }
  }

  /** Publishes a model; ALREADY_EXISTS if its id is taken. */
  async publish(spec: PublishSpec, options: CallOptions = {}): Promise<void> {
    this.check(spec.modelId);
    const model = toModel(spec);
    await this.rpc.call(ADMIN_METHODS.publish, PublishRequest.fromPartial({ model }), options);
  }

  /**
   * Changes a published model: lists it, replaces the fields `change` gives, and sends the result (method
   * names and other fields as listed). One deadline covers both RPCs.
   */
  async update(change: ModelUpdate, options: CallOptions = {}): Promise<void> {
    this.check(change.modelId);
    const next = sequenceOf(options);
    const model = await this.listOne(change.modelId, next());
    if (change.modelPath !== undefined) model.modelPath = change.modelPath;
    if (change.checkpointPath !== undefined) model.checkpointPath = change.checkpointPath;
    if (change.numReplicas !== undefined) model.requestedNumReplicas = change.numReplicas;
    if (change.overrides !== undefined) model.overrides = { ...change.overrides };
    if (change.adminAcl !== undefined) model.adminAcl = change.adminAcl;
    if (change.dataAcls !== undefined) model.acls = { items: { ...change.dataAcls } };
    await this.rpc.call(ADMIN_METHODS.update, UpdateRequest.fromPartial({ model }), next());
  }

  /** Unpublishes a model; its servers unload it shortly after. */
  async unpublish(modelId: string, options: CallOptions = {}): Promise<void> {
    this.check(modelId);
    await this.rpc.call(ADMIN_METHODS.unpublish, UnpublishRequest.fromPartial({ modelId }), options);
  }

  /** One published model; NOT_FOUND if it is not published. */
  async list(modelId: string, options: CallOptions = {}): Promise<ListedModel> {
    this.check(modelId);
    const published = await this.listRaw(modelId, options);
    const only = published.length === 1 ? published[0] : undefined;
    if (!only) throw new SaxError("NOT_FOUND", `model ${modelId} is not published`, { model: modelId });
    return toListedModel(only);
  }

  /** Every published model of the cell, sorted by id. */
  async listAll(options: CallOptions = {}): Promise<ListedModel[]> {
    const published = await this.listRaw("", options);
    return published
      .map(toListedModel)
      .sort((a, b) => (a.modelId < b.modelId ? -1 : a.modelId > b.modelId ? 1 : 0));
  }

  /** Server statistics of the whole cell, or of the servers assigned to `modelId`. */
  async stats(modelId?: string, options: CallOptions = {}): Promise<CellStats> {
    if (modelId !== undefined) this.check(modelId);
    const request = StatsRequest.fromPartial({ modelId: modelId ?? "" });
    const response = await this.rpc.call(ADMIN_METHODS.stats, request, options);
    return {
      serverTypes: response.modelServerTypeStats.map((s) => ({
        chipType: chipTypeName(s.chipType),
        chipTopology: chipTopologyName(s.chipTopology),
        numReplicas: s.numReplicas,
      })),
      serversByServablePath: { ...response.numServersByServableModelPath },
    };
  }

  /**
   * Resolves once at least `numReplicas` replicas of the model have loaded it. Fails with CANCELLED if
   * the model is unpublished meanwhile; without a deadline it may wait forever.
   */
  async waitForReady(modelId: string, numReplicas: number, options: CallOptions = {}): Promise<void> {
    this.check(modelId);
    const request = WaitForReadyRequest.fromPartial({ modelId, numReplicas });
    await this.rpc.call(ADMIN_METHODS.waitForReady, request, options);
  }

  /**
   * The model's replica addresses (sorted), first as they are, then each time they change, until the
   * caller stops iterating, the call's deadline or signal ends it, or the model is unpublished (an empty
   * set, then NOT_FOUND).
   */
  async *watch(modelId: string, options: CallOptions = {}): AsyncIterable<string[]> {
    const set = new AddressSet();
    let last: string | undefined;
    for await (const step of this.watchSteps(modelId, options)) {
      set.apply(step);
      const values = [...set.values()];
      const key = values.join("\n");
      if (key === last) continue;
      last = key;
      yield values;
    }
  }

  /** The raw WatchLoc answers for `modelId` (what `saxutil watch` prints), like {@link watch}. */
  async *watchUpdates(modelId: string, options: CallOptions = {}): AsyncIterable<AddressUpdate> {
    for await (const step of this.watchSteps(modelId, options)) yield step.update;
  }

  /** The model's admin ACL and data-method ACLs. */
  async getAcl(modelId: string, options: CallOptions = {}): Promise<ModelAcls> {
    const { adminAcl, dataAcls } = await this.list(modelId, options);
    return { adminAcl, dataAcls };
  }

  /**
   * Sets the model's admin ACL, or with `options.method` the ACL of that data method (an empty `acl`
   * removes it). Lists the model first, then updates it; one deadline covers both.
   */
  async setAcl(modelId: string, acl: string, options: SetAclOptions = {}): Promise<void> {
    this.check(modelId);
    const next = sequenceOf(options);
    const model = await this.listOne(modelId, next());
    if (options.method === undefined) {
      model.adminAcl = acl;
    } else {
      const items = { ...model.acls?.items };
      if (acl === "") delete items[options.method];
      else items[options.method] = acl;
      model.acls = { items };
    }
    await this.rpc.call(ADMIN_METHODS.update, UpdateRequest.fromPartial({ model }), next());
  }

  /** The cell's admin ACL from its config.proto (`""` if none); no RPC. */
  async cellAcl(): Promise<string> {
    const config = await readConfig(await this.saxRoot(), this.cellId);
    return config.adminAcl;
  }

  private async *watchSteps(modelId: string, options: CallOptions) {
    this.check(modelId);
    const scope = new CallScope(options, this.closed, `watching ${modelId}`);
    try {
      yield* watchLoc(this.rpc, modelId, scope);
    } finally {
      scope.close();
    }
  }

  private async listRaw(modelId: string, options: CallOptions): Promise<PublishedModel[]> {
    const request = ListRequest.fromPartial({ modelId });
    return (await this.rpc.call(ADMIN_METHODS.list, request, options)).publishedModels;
  }

  /** The stored spec of one model, as List returns it. */
  private async listOne(modelId: string, options: CallOptions): Promise<Model> {
    const [first] = await this.listRaw(modelId, options);
    if (!first?.model)
      throw new SaxError("NOT_FOUND", `model ${modelId} is not published`, { model: modelId });
    return first.model;
  }

  private check(modelId: string): void {
    parseModelIdInCell(modelId, this.cellId);
  }
}

function toModel(spec: PublishSpec): Model {
  return {
    modelId: spec.modelId,
    modelPath: spec.modelPath,
    checkpointPath: spec.checkpointPath,
    requestedNumReplicas: spec.numReplicas,
    overrides: { ...spec.overrides },
    adminAcl: spec.adminAcl ?? "",
    acls: spec.dataAcls === undefined ? undefined : { items: { ...spec.dataAcls } },
    uuid: Buffer.alloc(0),
    methodNames: [],
  };
}

function toListedModel({ model, modeletAddresses }: PublishedModel): ListedModel {
  return {
    modelId: model?.modelId ?? "",
    modelPath: model?.modelPath ?? "",
    checkpointPath: model?.checkpointPath ?? "",
    numReplicas: model?.requestedNumReplicas ?? 0,
    overrides: { ...model?.overrides },
    adminAcl: model?.adminAcl ?? "",
    dataAcls: model?.acls && { ...model.acls.items },
    methodNames: [...(model?.methodNames ?? [])].sort(),
    modeletAddresses: [...modeletAddresses],
  };
}
