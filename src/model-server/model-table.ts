/**
 * The models a model server knows and their lifecycle (Saxml's Modelet semantics):
 *
 *   Load ──▶ LOADING ──▶ LOADED ──Unload──▶ UNLOADING ──▶ (gone)
 *                  └───▶ FAILED (reason kept) ──Unload──▶ (gone)
 *
 * Loads and unloads run one at a time, with at most four of each waiting (RESOURCE_EXHAUSTED beyond).
 * A LOADED model whose worker is restarting reports LOADING until it is back, FAILED if it cannot be.
 * A loaded model keeps what its load cost (load-info.ts), for GetStatus.
 */
import { InvalidArgumentError, SaxError, toSaxError, type CodeName } from "../common/errors.js";
import type { Logger } from "../common/log.js";
import { ModelStatus } from "../gen/sax/common.js";
import type { GetStatusResponse_ModelWithStatus } from "../gen/sax/modelet.js";
import { loadInfoMessage, loadSummary } from "./load-info.js";
import { MethodStats } from "./method-stats.js";
import type { LoadedModel, LoadRequest, ModelLoader } from "./model-loader.js";

/** Most loads (and, separately, unloads) that may wait for their turn. */
export const MAX_QUEUED_ACTIONS = 4;

/** Load failures the Load RPC answers with their own code and message; others are INTERNAL "Loading error: …". */
const REQUEST_FAILURE_CODES: ReadonlySet<CodeName> = new Set<CodeName>([
  // The request names what cannot load: an unknown path, a mistyped override, a missing checkpoint.
  "INVALID_ARGUMENT",
  // The model cannot fit this server's memory: another model or another server is needed, not a retry.
  "RESOURCE_EXHAUSTED",
]);

/** One model key's entry. */
export interface ModelEntry {
  status: ModelStatus;
  failureReason: string;
  modelPath: string;
  checkpointPath: string;
  overrides: Readonly<Record<string, string>>;
  acls: Readonly<Record<string, string>>;
  loaded: LoadedModel | undefined;
  /** Seconds from the Load request to LOADED (waiting behind other loads included), once loaded. */
  loadSeconds: number | undefined;
  readonly stats: Map<string, MethodStats>;
}

/** What a Load or UpdateLoaded carries. */
export type LoadSpec = Omit<LoadRequest, "onEvent"> & { readonly acls: Readonly<Record<string, string>> };

/** The model table of one model server. */
export class ModelTable {
  private readonly entries = new Map<string, ModelEntry>();
  private actions: Promise<unknown> = Promise.resolve();
  private readonly queued = { load: 0, unload: 0 };

  constructor(
    private readonly loader: ModelLoader,
    private readonly log: Logger,
  ) {}

  get(key: string): ModelEntry | undefined {
    return this.entries.get(key);
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  /** Load: a no-op for a known key; otherwise LOADING until the worker has it, then LOADED or FAILED. */
  async load(spec: LoadSpec): Promise<void> {
    if (this.entries.has(spec.modelKey)) return;
    this.admit("load");
    const requestedMs = performance.now();
    const entry: ModelEntry = {
      status: ModelStatus.LOADING,
      failureReason: "",
      modelPath: spec.modelPath,
      checkpointPath: spec.checkpointPath,
      overrides: spec.overrides,
      acls: spec.acls,
      loaded: undefined,
      loadSeconds: undefined,
      stats: new Map(),
    };
    this.entries.set(spec.modelKey, entry);
    await this.serially("load", () => this.loadEntry(spec.modelKey, entry, requestedMs));
  }

  /** Unload: unknown keys are INVALID_ARGUMENT; FAILED entries are simply dropped. */
  async unload(key: string): Promise<void> {
    if (key === "") throw new InvalidArgumentError("model_key is not specified.");
    const entry = this.entries.get(key);
    if (!entry) throw new InvalidArgumentError(`${key} not found, cannot unload.`);
    if (entry.status === ModelStatus.UNLOADING) {
      throw new InvalidArgumentError(`Model is already being unloaded. Key: ${key}`);
    }
    this.admit("unload");
    const previous = entry.status;
    entry.status = ModelStatus.UNLOADING;
    await this.serially("unload", async () => {
      if (previous === ModelStatus.FAILED || !entry.loaded) return void this.entries.delete(key);
      try {
        await entry.loaded.unload();
        this.entries.delete(key);
      } catch (err) {
        this.fail(entry, `Unloading error: ${(err as Error).message}`);
        throw new SaxError("INTERNAL", entry.failureReason, { model: key, cause: err });
      }
    });
  }

  /**
   * UpdateLoaded: replaces the ACLs; with a checkpoint, reloads the model only if the checkpoint differs
   * from the loaded one (Saxml reloads on every non-empty checkpoint).
   */
  async updateLoaded(
    key: string,
    checkpointPath: string,
    acls: Readonly<Record<string, string>>,
  ): Promise<void> {
    if (key === "") throw new InvalidArgumentError("model_key is not specified.");
    const entry = this.entries.get(key);
    if (checkpointPath === "") {
      if (entry && Object.keys(acls).length > 0) entry.acls = acls;
      return;
    }
    if (entry?.status !== ModelStatus.LOADED) throw new SaxError("NOT_FOUND", `Model ${key} not found.`);
    entry.acls = acls;
    if (checkpointPath === entry.checkpointPath) return;
    await this.unload(key);
    await this.load({ ...entry, modelKey: key, checkpointPath, acls });
  }

  /**
   * GetStatus's view of every known model; models whose load succeeded carry what it cost and the
   * resident memory of their worker now.
   */
  statuses(includeFailureReasons: boolean, includeMethodStats: boolean): GetStatusResponse_ModelWithStatus[] {
    return [...this.entries].map(([modelKey, entry]) => ({
      modelKey,
      modelStatus: entry.status,
      failureReason: includeFailureReasons && entry.status === ModelStatus.FAILED ? entry.failureReason : "",
      methodStats: includeMethodStats ? [...entry.stats.values()].map((s) => s.snapshot()) : [],
      ...(entry.loaded && entry.loadSeconds !== undefined
        ? { loadInfo: loadInfoMessage(entry.loadSeconds, entry.loaded.loadInfo) }
        : {}),
      workerRssBytes: entry.loaded?.residentBytes?.() ?? 0,
    }));
  }

  /** Unloads everything (shutdown). */
  async unloadAll(): Promise<void> {
    await Promise.allSettled(this.keys().map((key) => this.unload(key)));
  }

  private async loadEntry(key: string, entry: ModelEntry, requestedMs: number): Promise<void> {
    try {
      entry.loaded = await this.loader.load({
        ...entry,
        modelKey: key,
        onEvent: (e) => this.onEvent(key, entry, e),
      });
      entry.loadSeconds = (performance.now() - requestedMs) / 1000;
      for (const method of entry.loaded.methods) entry.stats.set(method, new MethodStats(method));
      // An Unload that arrived while loading keeps its UNLOADING status; it runs next.
      if (entry.status === ModelStatus.LOADING) entry.status = ModelStatus.LOADED;
      this.log.info(loadSummary(key, entry.loadSeconds, entry.loaded.loadInfo));
    } catch (err) {
      const error = toSaxError(err);
      const passed = REQUEST_FAILURE_CODES.has(error.code);
      const reason = passed ? error.message : `Loading error: ${error.message}`;
      this.fail(entry, reason);
      throw new SaxError(passed ? error.code : "INTERNAL", reason, { model: key, cause: err });
    }
  }

  private onEvent(key: string, entry: ModelEntry, event: Parameters<LoadRequest["onEvent"]>[0]): void {
    if (this.entries.get(key) !== entry || entry.status === ModelStatus.UNLOADING) return;
    if (event.kind === "ready") entry.status = ModelStatus.LOADED;
    else if (event.kind === "restarting") entry.status = ModelStatus.LOADING;
    else this.fail(entry, event.reason);
  }

  private fail(entry: ModelEntry, reason: string): void {
    entry.status = ModelStatus.FAILED;
    entry.failureReason = reason;
    this.log.warn(reason);
  }

  private admit(kind: "load" | "unload"): void {
    if (this.queued[kind] >= MAX_QUEUED_ACTIONS) {
      throw new SaxError("RESOURCE_EXHAUSTED", `Too many requests: ${kind} queue is full, retry later`);
    }
  }

  private serially(kind: "load" | "unload", action: () => Promise<void>): Promise<void> {
    this.queued[kind] += 1;
    const run = this.actions.then(action).finally(() => (this.queued[kind] -= 1));
    this.actions = run.catch(() => undefined);
    return run;
  }
}
