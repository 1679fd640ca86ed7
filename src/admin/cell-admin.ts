/**
 * The admin of one cell: the published models, the joined model servers, and the refresh cycle that
 * places the former on the latter.
 *
 * How the parts fit: RPCs change `models` (persisted through the StateStore before they are acknowledged)
 * and trigger a refresh. A refresh prunes silent servers, asks the pure assigner for a plan, and applies it
 * by queueing Load/Unload actions on server mirrors while updating each model's address watchable
 * (WatchLoc). JoinedServers owns membership: Joins, GetStatus polls, pruning, and the ready counts that
 * loads contribute (WaitForReady).
 */
import { randomBytes } from "node:crypto";
import { InvalidArgumentError, SaxError } from "../common/errors.js";
import type { Logger } from "../common/log.js";
import { parseModelId, parseModelIdInCell, type CellId } from "../common/naming.js";
import { PeriodicTask } from "../common/periodic-task.js";
import type {
  JoinRequest,
  Model,
  PublishedModel as PublishedModelProto,
  StatsResponse,
  WatchLocResponse,
} from "../gen/sax/admin.js";
import { ModelStatus } from "../gen/sax/common.js";
import type { AclPolicy } from "./acl.js";
import { planAssignment, type AssignerModel, type AssignerServer } from "./assigner.js";
import { validateModel } from "./model-validation.js";
import { PublishedModels } from "./published-models.js";
import { JoinedServers } from "./joined-servers.js";
import type { ServerMirror } from "./server-mirror.js";
import { cellStats } from "./stats.js";
import type { StateStore } from "./state-store.js";
import type { AdminTimings } from "./timings.js";
import { serversToWake } from "./waker.js";

/** Everything a CellAdmin needs. */
export interface CellAdminOptions {
  readonly cell: CellId;
  readonly store: StateStore;
  readonly acls: AclPolicy;
  readonly timings: AdminTimings;
  readonly log: Logger;
  /**
   * Estimated bytes a model needs (from the servable registry), used to pack models that have no `ram`
   * override; undefined for paths it does not know. @default none: such models take a whole server
   */
  readonly estimateBytes?: (
    modelPath: string,
    overrides: Readonly<Record<string, string>>,
  ) => number | undefined;
  /** Called when the admin cannot go on (its state could not be saved); the process should exit. */
  readonly onFatal: (err: SaxError) => void;
}

/** The admin logic of a cell, free of gRPC and HTTP. */
export class CellAdmin {
  /**
   * This admin incarnation's id, `<ip>:<port>_<16 hex>`, sent with every WatchLoc answer. Set by the
   * process once its port is bound (a port-0 bind learns the port only then).
   */
  serverId = "";
  readonly models = new PublishedModels();
  readonly servers: JoinedServers;
  /** Model id → servers holding or loading it, as of the last refresh. */
  assignment: ReadonlyMap<string, readonly string[]> = new Map();
  private readonly pendingUnpublished = new Set<string>();
  private readonly stopping = new AbortController();
  private readonly refreshTask: PeriodicTask;
  private readonly pollTask: PeriodicTask;

  constructor(private readonly options: CellAdminOptions) {
    this.servers = new JoinedServers({
      models: this.models,
      timings: options.timings,
      log: options.log,
      stopping: this.stopping.signal,
      onJoined: () => void this.refreshTask.trigger(),
    });
    const onError = (err: unknown) => options.log.error(`background task failed: ${(err as Error).message}`);
    this.refreshTask = new PeriodicTask(() => this.refresh(), {
      intervalMs: options.timings.refreshIntervalMs,
      onError,
    });
    this.pollTask = new PeriodicTask(() => this.servers.pollAll(), {
      intervalMs: options.timings.pollIntervalMs,
      onError,
    });
  }

  /** Restores the published models and starts the refresh and poll cycles. */
  async start(): Promise<void> {
    for (const spec of await this.options.store.load()) this.models.add(spec);
    this.options.log.info(
      `restored ${this.models.all().length} published model(s) from ${this.options.store.location}`,
    );
    this.refreshTask.start();
    this.pollTask.start();
  }

  /** Stops background work, ends long polls, and closes server channels. */
  async stop(): Promise<void> {
    this.stopping.abort(new SaxError("UNAVAILABLE", "the admin server is shutting down"));
    await Promise.all([this.refreshTask.stop(), this.pollTask.stop()]);
    this.servers.close();
  }

  /** Publish: validates, stores with a fresh uuid, persists, then schedules placement. */
  async publish(model: Model | undefined): Promise<void> {
    const spec = this.requireModelField(model);
    validateModel(spec, this.options.cell, this.options.acls);
    if (this.models.has(spec.modelId))
      throw new SaxError("ALREADY_EXISTS", `model ${spec.modelId} is already published`);
    if (this.pendingUnpublished.has(spec.modelId)) {
      throw new SaxError("UNAVAILABLE", `model ${spec.modelId} is being unpublished, please retry later`);
    }
    this.models.add({ ...spec, uuid: randomBytes(16) });
    await this.persist();
    void this.refreshTask.trigger();
  }

  /** Update: replaces the mutable fields; servers holding the model get UpdateLoaded if ckpt/ACLs changed. */
  async update(model: Model | undefined): Promise<void> {
    const spec = this.requireModelField(model);
    validateModel(spec, this.options.cell, this.options.acls);
    const published = this.models.require(spec.modelId);
    if (spec.modelPath !== published.spec.modelPath) {
      throw new InvalidArgumentError("invalid model update: model path can't be changed");
    }
    const before = published.spec;
    published.spec = { ...spec, uuid: before.uuid };
    await this.persist();
    if (before.checkpointPath !== spec.checkpointPath || !sameAcls(before, spec)) {
      for (const address of this.assignment.get(spec.modelId) ?? [])
        this.servers.get(address)?.update(published.spec);
    }
    void this.refreshTask.trigger();
  }

  /** Unpublish: removes the model at once (watchers see an empty set); unloads follow at the next refresh. */
  async unpublish(modelId: string): Promise<void> {
    parseModelIdInCell(modelId, this.options.cell);
    this.models.require(modelId);
    this.models.remove(modelId);
    this.pendingUnpublished.add(modelId);
    await this.persist();
    void this.refreshTask.trigger();
  }

  /** List: every model ("" id) or one; uuids hidden, method names from the servers' reports. */
  list(modelId: string): PublishedModelProto[] {
    if (modelId === "") return this.models.all().map((m) => this.describe(m.spec));
    parseModelIdInCell(modelId, this.options.cell);
    return [this.describe(this.models.require(modelId).spec)];
  }

  /** Stats of the whole cell ("" id) or of the servers assigned to one model. */
  stats(modelId: string): StatsResponse {
    if (modelId === "") return cellStats(this.servers.all());
    parseModelIdInCell(modelId, this.options.cell);
    this.models.require(modelId);
    const mirrors = (this.assignment.get(modelId) ?? []).map((address) => {
      const mirror = this.servers.get(address);
      if (!mirror) throw new SaxError("NOT_FOUND", `model server ${address} not found`, { model: modelId });
      return mirror;
    });
    return cellStats(mirrors);
  }

  /** WatchLoc: long poll on a model's data addresses. */
  async watchLoc(
    modelId: string,
    seqno: number,
    adminServerId: string,
    signal: AbortSignal,
  ): Promise<WatchLocResponse> {
    parseModelId(modelId);
    if (seqno < 0) throw new InvalidArgumentError(`seqno must be >= 0, got ${seqno}`);
    const model = this.models.require(modelId);
    const from = adminServerId === this.serverId ? seqno : 0;
    const update = await model.addresses.watch(from, AbortSignal.any([signal, this.stopping.signal]));
    return {
      adminServerId: this.serverId,
      result: {
        nextSeqno: update.nextSeqno,
        hasFullset: update.hasFullset,
        values: [...update.values],
        changelog: update.changelog.map((m) => ({ kind: { $case: m.kind, value: m.value } })),
      },
    };
  }

  /** WaitForReady: resolves once `numReplicas` replicas have loaded. */
  async waitForReady(modelId: string, numReplicas: number, signal: AbortSignal): Promise<void> {
    parseModelIdInCell(modelId, this.options.cell);
    await this.models
      .require(modelId)
      .ready.waitFor(numReplicas, AbortSignal.any([signal, this.stopping.signal]));
  }

  /** Join: registers a model server (dialing it first), or treats a repeated Join as a heartbeat. */
  join(request: JoinRequest, signal: AbortSignal): Promise<void> {
    return this.servers.join(request, signal);
  }

  /** Runs one refresh now (tests and shutdown use it; the cycle runs it periodically). */
  refreshNow(): Promise<void> {
    return this.refreshTask.trigger();
  }

  private refresh(): void {
    this.servers.prune(Date.now());
    const freed = [...this.pendingUnpublished];
    const plan = planAssignment(
      this.models.all().map((m) => this.assignerModel(m.spec)),
      this.servers.all().map(assignerServer),
    );
    this.assignment = plan.assignment;
    for (const { address, modelId } of plan.unloads) {
      const mirror = this.servers.get(address);
      if (!mirror) continue;
      this.models.get(modelId)?.addresses.delete(mirror.dataAddress);
      mirror.unload(modelId);
    }
    for (const { address, modelId } of plan.loads) {
      const mirror = this.servers.get(address);
      const model = this.models.get(modelId);
      if (!mirror || !model) continue;
      mirror.load(model.spec);
      model.addresses.add(mirror.dataAddress);
    }
    for (const id of freed) this.pendingUnpublished.delete(id);
    for (const address of serversToWake(this.wakerView())) {
      this.servers.get(address)?.wakeUp(this.options.timings.wakeUpTimeoutMs);
    }
  }

  private wakerView() {
    return this.servers.all().map((m) => ({
      address: m.address,
      isDormant: m.isDormant,
      earlyRejections: m.earlyRejections,
      modelIds: m.seen.keys(),
    }));
  }

  private describe(spec: Model): PublishedModelProto {
    const addresses = this.assignment.get(spec.modelId) ?? [];
    const methods = new Set<string>();
    for (const address of addresses) {
      for (const method of this.servers.get(address)?.seen.get(spec.modelId)?.methods ?? [])
        methods.add(method);
    }
    return {
      model: { ...spec, uuid: Buffer.alloc(0), methodNames: [...methods].sort() },
      modeletAddresses: [...addresses],
    };
  }

  private assignerModel(spec: Model): AssignerModel {
    const estimatedBytes = this.options.estimateBytes?.(spec.modelPath, spec.overrides);
    return {
      id: spec.modelId,
      path: spec.modelPath,
      requestedReplicas: spec.requestedNumReplicas,
      overrides: spec.overrides,
      ...(estimatedBytes === undefined ? {} : { estimatedBytes }),
    };
  }

  private requireModelField(model: Model | undefined): Model {
    if (!model) throw new InvalidArgumentError("request has no model");
    return model;
  }

  private async persist(): Promise<void> {
    try {
      await this.options.store.save(() => this.models.specs());
    } catch (err) {
      const error = new SaxError(
        "INTERNAL",
        `cannot save the cell state to ${this.options.store.location}: ${(err as Error).message}`,
        { cause: err },
      );
      this.options.onFatal(error);
      throw error;
    }
  }
}

function assignerServer(mirror: ServerMirror): AssignerServer {
  const models = new Map<string, ModelStatus>();
  for (const id of mirror.wanted.keys()) models.set(id, mirror.seen.get(id)?.status ?? ModelStatus.NONE);
  const spec = mirror.server.spec;
  return {
    address: mirror.address,
    chipType: spec.chipType,
    chipTopology: spec.chipTopology,
    servablePaths: spec.servableModelPaths,
    tags: spec.tags,
    models,
  };
}

function sameAcls(a: Model, b: Model): boolean {
  const x = a.acls?.items ?? {};
  const y = b.acls?.items ?? {};
  const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
  return [...keys].every((k) => x[k] === y[k]);
}
