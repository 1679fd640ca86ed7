/**
 * The model servers that joined the cell: Join (dial, first status, adoption of models they already hold),
 * periodic GetStatus polls, pruning of silent servers, and the ready counts their loads contribute.
 *
 * Ready accounting: a replica adds 1 to its model's ready counter when its Load succeeds or when a joining
 * server already reports it LOADED, and gives it back when it is unloaded or its server is pruned. Each
 * mirror remembers which of its models it counted, so a replica whose load failed is never subtracted.
 */
import { InvalidArgumentError } from "../common/errors.js";
import type { Logger } from "../common/log.js";
import type { JoinRequest, ModelServer } from "../gen/sax/admin.js";
import { ModelStatus } from "../gen/sax/common.js";
import type { PublishedModels } from "./published-models.js";
import { ServerMirror, type MirrorEvents } from "./server-mirror.js";
import type { AdminTimings } from "./timings.js";

/** Statuses of a reported model that make a joining server keep it (Saxml adopts these). */
const ADOPTED_STATUSES: ReadonlySet<ModelStatus> = new Set([
  ModelStatus.LOADING,
  ModelStatus.LOADED,
  ModelStatus.FAILED,
]);

/** What JoinedServers needs from the cell. */
export interface JoinedServersOptions {
  readonly models: PublishedModels;
  readonly timings: AdminTimings;
  readonly log: Logger;
  /** Aborted when the admin stops: ends Joins in progress. */
  readonly stopping: AbortSignal;
  /** Called after a server joined (the cell refreshes placement). */
  readonly onJoined: () => void;
}

/** Joined model servers by Join address. */
export class JoinedServers implements MirrorEvents {
  private readonly mirrors = new Map<string, ServerMirror>();
  private readonly joining = new Map<string, Promise<void>>();
  private readonly counted = new WeakMap<ServerMirror, Set<string>>();

  constructor(private readonly options: JoinedServersOptions) {}

  get(address: string): ServerMirror | undefined {
    return this.mirrors.get(address);
  }

  all(): ServerMirror[] {
    return [...this.mirrors.values()];
  }

  /** Registers a server (dialing it first), or treats a repeated Join with the same spec as a heartbeat. */
  join(request: JoinRequest, signal: AbortSignal): Promise<void> {
    if (request.address === "") throw new InvalidArgumentError("join request has an empty address");
    const spec = request.modelServer;
    if (!spec) throw new InvalidArgumentError(`join request from ${request.address} has no model_server`);
    if (this.mirrors.get(request.address)?.sameSpec(spec)) return Promise.resolve();
    const inflight = this.joining.get(request.address);
    if (inflight) return inflight;
    const joined = this.add(request, spec, signal).finally(() => this.joining.delete(request.address));
    this.joining.set(request.address, joined);
    return joined;
  }

  /** Removes servers without a successful poll for longer than the prune timeout. */
  prune(nowMs: number): void {
    const { models, timings, log } = this.options;
    for (const mirror of this.all()) {
      const silentMs = nowMs - mirror.lastPingMs;
      if (silentMs <= timings.pruneTimeoutMs) continue;
      log.warn(`pruning model server ${mirror.address}: no successful GetStatus for ${silentMs} ms`);
      for (const id of mirror.wanted.keys()) models.get(id)?.addresses.delete(mirror.dataAddress);
      for (const id of this.counted.get(mirror) ?? []) models.get(id)?.ready.add(-1);
      this.mirrors.delete(mirror.address);
      mirror.close();
    }
  }

  /** Polls every server's GetStatus once, concurrently. */
  async pollAll(): Promise<void> {
    await Promise.all(this.all().map((m) => m.poll(this.options.timings.pollTimeoutMs)));
  }

  /** Closes every server channel. */
  close(): void {
    for (const mirror of this.mirrors.values()) mirror.close();
  }

  loadFinished(mirror: ServerMirror, modelId: string, ok: boolean): void {
    if (ok && this.mirrors.get(mirror.address) === mirror) this.countReady(mirror, modelId);
  }

  unloadFinished(mirror: ServerMirror, modelId: string, ok: boolean): void {
    if (ok && this.counted.get(mirror)?.delete(modelId)) this.options.models.get(modelId)?.ready.add(-1);
  }

  private async add(request: JoinRequest, spec: ModelServer, signal: AbortSignal): Promise<void> {
    const { models, timings, log, stopping } = this.options;
    const server = {
      address: request.address,
      debugAddress: request.debugAddress,
      dataAddress: request.dataAddress || request.address,
      spec,
    };
    const { mirror, status } = await ServerMirror.connect(server, this, log, {
      timeoutMs: timings.joinTimeoutMs,
      signal: AbortSignal.any([signal, stopping]),
    });
    // A re-Join with a new spec replaces the old mirror without un-counting its models (as Saxml).
    this.mirrors.get(request.address)?.close();
    this.mirrors.set(request.address, mirror);
    this.counted.set(mirror, new Set());
    for (const reported of status.models) {
      const published = models.get(reported.modelKey);
      if (published && ADOPTED_STATUSES.has(reported.modelStatus)) mirror.update(published.spec);
    }
    mirror.applyStatus(status, Date.now());
    for (const modelId of mirror.wanted.keys()) {
      models.get(modelId)?.addresses.add(mirror.dataAddress);
      if (mirror.seen.get(modelId)?.status === ModelStatus.LOADED) this.countReady(mirror, modelId);
    }
    log.info(`model server ${request.address} joined (${mirror.wanted.size} model(s) adopted)`);
    this.options.onJoined();
  }

  private countReady(mirror: ServerMirror, modelId: string): void {
    const model = this.options.models.get(modelId);
    const counted = this.counted.get(mirror);
    if (!model || !counted || counted.has(modelId)) return;
    counted.add(modelId);
    model.ready.add(1);
  }
}
