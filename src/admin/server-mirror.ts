/**
 * The admin's view of one joined model server (Saxml's per-server state):
 * - `seen`: what the server last reported in GetStatus (status and data methods per model);
 * - `wanted`: the models the admin has placed there, with the spec it wants loaded;
 * - an action queue: Load/Unload/UpdateLoaded/WakeUp RPCs to this server run strictly one after another.
 *
 * Results of actions are reported through {@link MirrorEvents}, so that the cell (ready counters) stays the
 * owner of model state.
 */
import type { Client } from "@grpc/grpc-js";
import { InvalidArgumentError, SaxError } from "../common/errors.js";
import type { Logger } from "../common/log.js";
import { parseModelId } from "../common/naming.js";
import type { Model, ModelServer } from "../gen/sax/admin.js";
import { ModelStatus } from "../gen/sax/common.js";
import {
  GetStatusResponse_ServerStatus_State,
  ModeletDefinition,
  type GetStatusResponse,
} from "../gen/sax/modelet.js";
import { callUnary, openChannel } from "../grpc/client.js";
import { grpcService } from "../grpc/definitions.js";

const modelet = grpcService(ModeletDefinition);

/** What a server last reported about one model. */
export interface SeenModel {
  readonly status: ModelStatus;
  /** Data methods with stats, e.g. `lm.generate`. */
  readonly methods: readonly string[];
}

/** Outcomes of queued actions, reported to the owner of model state. */
export interface MirrorEvents {
  loadFinished(mirror: ServerMirror, modelId: string, ok: boolean): void;
  unloadFinished(mirror: ServerMirror, modelId: string, ok: boolean): void;
}

/** Identity of a joined server, from its JoinRequest. */
export interface JoinedServer {
  readonly address: string;
  readonly debugAddress: string;
  /** Where clients send data calls: the Join's data_address, or its address. */
  readonly dataAddress: string;
  readonly spec: ModelServer;
}

/** The admin's mirror of one model server. */
export class ServerMirror {
  readonly seen = new Map<string, SeenModel>();
  readonly wanted = new Map<string, Model>();
  lastPingMs = 0;
  isDormant = false;
  /** Early-rejection error rates of the last two polls: [previous, latest]. */
  earlyRejections: [number, number] = [0, 0];
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly server: JoinedServer,
    private readonly client: Client,
    private readonly events: MirrorEvents,
    private readonly log: Logger,
  ) {}

  /** Dials a joining server and reads its first status, within `timeoutMs` (and `signal`). */
  static async connect(
    server: JoinedServer,
    events: MirrorEvents,
    log: Logger,
    options: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<{ mirror: ServerMirror; status: GetStatusResponse }> {
    const client = openChannel(server.address);
    const mirror = new ServerMirror({ ...server, spec: sortedTags(server.spec) }, client, events, log);
    try {
      const status = await mirror.getStatus(options.timeoutMs, options.signal);
      return { mirror, status };
    } catch (err) {
      client.close();
      throw err;
    }
  }

  get address(): string {
    return this.server.address;
  }

  get dataAddress(): string {
    return this.server.dataAddress;
  }

  /** Whether a re-Join with `spec` describes this same server (tags are ignored, as in Saxml). */
  sameSpec(spec: ModelServer): boolean {
    const mine = this.server.spec;
    return (
      mine.chipType === spec.chipType &&
      mine.chipTopology === spec.chipTopology &&
      mine.servableModelPaths.length === spec.servableModelPaths.length &&
      mine.servableModelPaths.every((p, i) => p === spec.servableModelPaths[i])
    );
  }

  /** Calls GetStatus and checks that the answer is well-formed. */
  async getStatus(timeoutMs: number, signal?: AbortSignal): Promise<GetStatusResponse> {
    const status = await callUnary(
      this.client,
      modelet.getStatus,
      { includeFailureReasons: false, includeMethodStats: true },
      { timeoutMs, signal },
    );
    validateStatus(status, this.address);
    return status;
  }

  /** Replaces `seen` from a status answer; models not yet seen are taken only if wanted. */
  applyStatus(status: GetStatusResponse, nowMs: number): void {
    const reported = new Map(status.models.map((m) => [m.modelKey, m]));
    for (const key of this.seen.keys()) if (!reported.has(key)) this.seen.delete(key);
    for (const [key, m] of reported) {
      if (!this.seen.has(key) && !this.wanted.has(key)) continue;
      this.seen.set(key, { status: m.modelStatus, methods: m.methodStats.map((s) => s.method) });
    }
    this.lastPingMs = nowMs;
    const serverStatus = status.serverStatus;
    if (serverStatus) {
      this.isDormant = serverStatus.state === GetStatusResponse_ServerStatus_State.DORMANT;
      const latest = serverStatus.stats?.earlyRejectionErrorsPerSecond ?? 0;
      this.earlyRejections = [this.earlyRejections[1], latest];
    }
  }

  /** Polls the server once; failures are logged (a silent server is pruned by the cell). */
  async poll(timeoutMs: number): Promise<void> {
    try {
      this.applyStatus(await this.getStatus(timeoutMs), Date.now());
    } catch (err) {
      this.log.warn(`GetStatus of model server ${this.address} failed: ${(err as Error).message}`);
    }
  }

  /** Places a model here and queues its Load. */
  load(model: Model): void {
    if (this.wanted.has(model.modelId)) {
      throw new SaxError("ALREADY_EXISTS", `model ${model.modelId} is already placed on ${this.address}`);
    }
    this.wanted.set(model.modelId, model);
    const request = {
      modelKey: model.modelId,
      modelPath: model.modelPath,
      checkpointPath: model.checkpointPath,
      acls: { items: { ...(model.acls?.items ?? {}) } },
      overrides: { ...model.overrides },
    };
    this.enqueue(`load ${model.modelId}`, async () => {
      const ok = await this.attempt(`Load ${model.modelId}`, () =>
        callUnary(this.client, modelet.load, request),
      );
      this.events.loadFinished(this, model.modelId, ok);
    });
  }

  /** Removes a model from here and queues its Unload; a failed Unload places it back. */
  unload(modelId: string): void {
    const model = this.wanted.get(modelId);
    if (!model) throw new SaxError("NOT_FOUND", `model ${modelId} is not placed on ${this.address}`);
    this.wanted.delete(modelId);
    this.enqueue(`unload ${modelId}`, async () => {
      const ok = await this.attempt(`Unload ${modelId}`, () =>
        callUnary(this.client, modelet.unload, { modelKey: modelId }),
      );
      if (!ok && !this.wanted.has(modelId)) this.wanted.set(modelId, model);
      this.events.unloadFinished(this, modelId, ok);
    });
  }

  /** Records the new spec of a model placed here and queues an UpdateLoaded with its checkpoint and ACLs. */
  update(model: Model): void {
    this.wanted.set(model.modelId, model);
    const request = {
      modelKey: model.modelId,
      checkpointPath: model.checkpointPath,
      acls: { items: { ...(model.acls?.items ?? {}) } },
    };
    this.enqueue(`update ${model.modelId}`, async () => {
      await this.attempt(`UpdateLoaded ${model.modelId}`, () =>
        callUnary(this.client, modelet.updateLoaded, request),
      );
    });
  }

  /** Queues a WakeUp for a dormant server. */
  wakeUp(timeoutMs: number): void {
    this.enqueue("wake up", async () => {
      await this.attempt("WakeUp", () => callUnary(this.client, modelet.wakeUp, {}, { timeoutMs }));
    });
  }

  /** Stops sending actions and closes the channel. */
  close(): void {
    this.closed = true;
    this.client.close();
  }

  private enqueue(what: string, action: () => Promise<void>): void {
    this.queue = this.queue.then(async () => {
      if (this.closed) return this.log.debug(`dropped ${what} on ${this.address}: server left`);
      await action();
    });
  }

  private async attempt(what: string, call: () => Promise<unknown>): Promise<boolean> {
    try {
      await call();
      this.log.info(`${what} on ${this.address}: ok`);
      return true;
    } catch (err) {
      this.log.warn(`${what} on ${this.address} failed: ${(err as Error).message}`);
      return false;
    }
  }
}

function sortedTags(spec: ModelServer): ModelServer {
  return { ...spec, tags: [...spec.tags].sort() };
}

/** Statuses a model server may report; anything else (a newer or corrupt enum value) fails the poll. */
const KNOWN_STATUSES: ReadonlySet<ModelStatus> = new Set([
  ModelStatus.NONE,
  ModelStatus.LOADING,
  ModelStatus.LOADED,
  ModelStatus.FAILED,
  ModelStatus.UNLOADING,
]);

function validateStatus(status: GetStatusResponse, address: string): void {
  for (const m of status.models) {
    try {
      parseModelId(m.modelKey);
    } catch {
      throw new InvalidArgumentError(
        `getStatus got invalid model key ${JSON.stringify(m.modelKey)} from ${address}`,
      );
    }
    if (!KNOWN_STATUSES.has(m.modelStatus)) {
      throw new InvalidArgumentError(
        `getStatus got invalid status ${m.modelStatus} for ${m.modelKey} from ${address}`,
      );
    }
  }
}
