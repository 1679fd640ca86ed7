/**
 * The supervisor of one model's Python worker: the object the model server holds per loaded model.
 *
 * start() spawns the process (worker-process.ts), sends `load`, and resolves once the model answers
 * calls. When the process dies, every pending request fails with WorkerDiedError (UNAVAILABLE, so
 * clients retry), and a new process is started after an exponential backoff and loaded with the same
 * spec; after `restart.maxConsecutiveFailures` failed restarts in a row the worker becomes `failed`.
 * stop() refuses new requests, lets in-flight ones finish for `stopGraceMs`, sends `shutdown`, and
 * SIGKILLs the process if it lingers, so its memory is really returned. The states are documented in
 * worker-state.ts.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { SaxError, toSaxError } from "../common/errors.js";
import { ChunkQueue } from "./chunk-queue.js";
import { WorkerDiedError } from "./errors.js";
import {
  backoffDelayMs,
  resolveModelWorkerOptions,
  type ModelWorkerOptions,
  type ResolvedModelWorkerOptions,
} from "./model-worker-options.js";
import type { Payload } from "./protocol.js";
import type { RequestOptions } from "./worker-channel.js";
import { WorkerProcess } from "./worker-process.js";
import { isServing, isTerminal, type WorkerState } from "./worker-state.js";

/** Unix socket paths are limited to ~107 bytes; stay clear of the limit. */
const MAX_IPC_PATH_LENGTH = 100;

/** What loading cost, as servables that record it report it; keys the model server does not know are dropped. */
const loadInfoSchema = z
  .object({
    parameters: z.number().nonnegative().optional(),
    weights_seconds: z.number().nonnegative().optional(),
    compile_seconds: z.number().nonnegative().optional(),
    checkpoint_bytes: z.number().nonnegative().optional(),
  })
  .transform((info): WorkerLoadInfo => ({
    ...(info.parameters === undefined ? {} : { parameters: info.parameters }),
    ...(info.weights_seconds === undefined ? {} : { weightsSeconds: info.weights_seconds }),
    ...(info.compile_seconds === undefined ? {} : { compileSeconds: info.compile_seconds }),
    ...(info.checkpoint_bytes === undefined ? {} : { checkpointBytes: info.checkpoint_bytes }),
  }));

const loadResultSchema = z.object({
  methods: z.array(z.string()),
  streaming_methods: z.array(z.string()),
  // Statistics only: a malformed one is dropped rather than failing a load that worked.
  load_info: loadInfoSchema.optional().catch(undefined),
});

/** What loading the model cost, measured by the worker; a field is absent when the servable does not record it. */
export interface WorkerLoadInfo {
  /** Parameters of the model. */
  readonly parameters?: number;
  /** Reading (or initialising) the weights and placing them on the devices. */
  readonly weightsSeconds?: number;
  /** Compiling the model's programs before it reported loaded. */
  readonly compileSeconds?: number;
  /** Checkpoint bytes read (0 for random weights). */
  readonly checkpointBytes?: number;
}

/** The data methods of a loaded model, from the worker's answer to `load`. */
export interface ServedMethods {
  /** Every method the model answers, e.g. `lm.generate`. */
  readonly methods: ReadonlySet<string>;
  /** The subset answered as a stream. */
  readonly streaming: ReadonlySet<string>;
}

/** A supervised worker process holding one loaded model. */
export class ModelWorker implements AsyncDisposable {
  private stateValue: WorkerState = "starting";
  private current: WorkerProcess | undefined;
  private served: ServedMethods | undefined;
  private loadInfoValue: WorkerLoadInfo | undefined;
  private failure: SaxError | undefined;
  private incarnation = 0;
  private restarting: Promise<void> | undefined;
  private stopped: Promise<void> | undefined;
  private readonly stopController = new AbortController();

  private constructor(
    private readonly options: ResolvedModelWorkerOptions,
    private readonly socketDir: string,
  ) {}

  /** Starts the worker and loads the model; rejects with the reason (and leaves nothing running). */
  static async start(options: ModelWorkerOptions): Promise<ModelWorker> {
    const resolved = resolveModelWorkerOptions(options);
    const socketDir = await mkdtemp(join(tmpdir(), "sax-w-"));
    const worker = new ModelWorker(resolved, socketDir);
    try {
      await worker.launch();
    } catch (err) {
      worker.fail(toSaxError(err));
      await worker.releaseResources();
      throw err;
    }
    return worker;
  }

  /** The id given in the options. */
  get workerId(): string {
    return this.options.workerId;
  }

  /** The current lifecycle state. */
  get state(): WorkerState {
    return this.stateValue;
  }

  /** Why the worker is `failed`. */
  get failureReason(): SaxError | undefined {
    return this.failure;
  }

  /** Process id of the current incarnation, if one is running. */
  get pid(): number | undefined {
    return this.current?.pid;
  }

  /** The methods the loaded model serves (from the last successful load). */
  get methods(): ServedMethods | undefined {
    return this.served;
  }

  /** What the last successful load cost, when the servable records it (LM servables do, echo does not). */
  get loadInfo(): WorkerLoadInfo | undefined {
    return this.loadInfoValue;
  }

  /** Number of requests in flight on the current process. */
  get inFlight(): number {
    return this.current?.channel.inFlight ?? 0;
  }

  /** Runs a unary method; SaxErrors carry the worker's code, a dead worker gives WorkerDiedError. */
  async call(method: string, request: Payload, options: RequestOptions = {}): Promise<Payload> {
    return this.channelFor(method, false).call(method, request, options);
  }

  /** Runs a streaming method; the request is sent at once, chunks arrive as the worker yields them. */
  stream(method: string, request: Payload, options: RequestOptions = {}): AsyncIterableIterator<Payload> {
    try {
      return this.channelFor(method, true).stream(method, request, options);
    } catch (err) {
      return failedStream(toSaxError(err));
    }
  }

  /** Drains, shuts the process down (SIGKILL after the timeouts) and releases everything. Idempotent. */
  stop(): Promise<void> {
    this.stopped ??= this.drainAndStop();
    return this.stopped;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  private channelFor(method: string, streaming: boolean) {
    const { workerId, model } = this.options;
    const proc = this.current;
    if (!isServing(this.stateValue) || !proc || !this.served) {
      const why = this.failure ? `: ${this.failure.message}` : "; retry later";
      throw new SaxError("UNAVAILABLE", `worker ${workerId} is ${this.stateValue}${why}`, { model, method });
    }
    if (!this.served.methods.has(method)) {
      const message = `method ${method} is not served by this model (it serves ${[...this.served.methods].join(", ")})`;
      throw new SaxError("INVALID_ARGUMENT", message, { model, method });
    }
    if (this.served.streaming.has(method) !== streaming) {
      const what = streaming ? "is not a streaming method" : "is a streaming method; call stream()";
      throw new SaxError("INVALID_ARGUMENT", `${method} ${what}`, { model, method });
    }
    return proc.channel;
  }

  /** One incarnation: spawn, READY, load. Leaves the process killed if any step fails. */
  private async launch(): Promise<void> {
    const { options } = this;
    this.setState("starting");
    const endpoint = this.nextEndpoint();
    const proc = await WorkerProcess.start({ ...options, endpoint });
    this.current = proc;
    try {
      this.setState("loading");
      const { config, checkpoint, seed } = options.load;
      const signal = this.stopController.signal;
      const body = await proc.channel.load(config, checkpoint, seed, {
        signal,
        deadlineMs: options.loadTimeoutMs,
      });
      ({ served: this.served, loadInfo: this.loadInfoValue } = parseLoadResult(body));
    } catch (err) {
      this.current = undefined;
      await proc.stop(options.shutdownTimeoutMs);
      throw loadError(toSaxError(err), options.workerId);
    }
    void proc.exited.then(() => this.onExit(proc));
    this.setState("ready");
  }

  private onExit(proc: WorkerProcess): void {
    if (proc !== this.current || this.stopController.signal.aborted) return;
    this.current = undefined;
    // The channel was closed with the WorkerDiedError; reuse it as the reason.
    const died = proc.channel.closeReason ?? new SaxError("UNAVAILABLE", "worker exited");
    this.options.logger.warn(died.message);
    this.restarting = this.restartLoop(died).catch((err: unknown) => {
      this.options.logger.error(`restarting worker ${this.options.workerId} broke: ${String(err)}`);
    });
  }

  private async restartLoop(reason: SaxError): Promise<void> {
    const { restart, workerId } = this.options;
    for (let failures = 0; ;) {
      this.setState("restarting", reason);
      const delayMs = backoffDelayMs(failures, restart);
      const waited = await sleep(delayMs, true, { signal: this.stopController.signal }).catch(() => false);
      if (!waited) return;
      try {
        return await this.launch();
      } catch (err) {
        if (this.stopController.signal.aborted) return;
        reason = toSaxError(err);
        failures += 1;
        this.options.logger.warn(`restart ${failures} of worker ${workerId} failed: ${reason.message}`);
        if (failures >= restart.maxConsecutiveFailures) {
          const message = `worker ${workerId} failed to restart ${failures} times in a row (restart.maxConsecutiveFailures); last error: ${reason.message}`;
          this.fail(new SaxError("UNAVAILABLE", message, { model: this.options.model, cause: reason }));
          return this.releaseResources();
        }
      }
    }
  }

  private async drainAndStop(): Promise<void> {
    if (isTerminal(this.stateValue)) return this.releaseResources();
    this.setState("draining");
    this.stopController.abort();
    const proc = this.current;
    if (proc) {
      const grace = sleep(this.options.stopGraceMs, undefined, { ref: false });
      await Promise.race([proc.channel.whenIdle(), grace]);
      await proc.stop(this.options.shutdownTimeoutMs);
    }
    await this.restarting;
    await this.releaseResources();
    this.current = undefined;
    this.setState("stopped");
  }

  private fail(reason: SaxError): void {
    this.failure = reason;
    this.setState("failed", reason);
  }

  private setState(state: WorkerState, reason?: SaxError): void {
    const previous = this.stateValue;
    if (previous === state || !canLeave(previous, state)) return;
    this.stateValue = state;
    try {
      this.options.onStateChange?.({ workerId: this.options.workerId, state, previous, reason });
    } catch (err) {
      this.options.logger.error(`onStateChange threw: ${String(err)}`);
    }
  }

  private nextEndpoint(): string {
    const path = join(this.socketDir, `w${++this.incarnation}.sock`);
    if (path.length > MAX_IPC_PATH_LENGTH) {
      throw new SaxError("FAILED_PRECONDITION", `socket path ${path} is too long; set TMPDIR shorter`);
    }
    return `ipc://${path}`;
  }

  private async releaseResources(): Promise<void> {
    await rm(this.socketDir, { recursive: true, force: true });
  }
}

/** Once stopping or finished, a launch still unwinding must not move the state backwards. */
function canLeave(from: WorkerState, to: WorkerState): boolean {
  if (isTerminal(from)) return false;
  return from !== "draining" || to === "stopped";
}

function parseLoadResult(body: Payload): { served: ServedMethods; loadInfo: WorkerLoadInfo | undefined } {
  const parsed = loadResultSchema.safeParse(body);
  if (!parsed.success) throw new SaxError("INTERNAL", `malformed load result: ${parsed.error.message}`);
  const { methods, streaming_methods, load_info } = parsed.data;
  return {
    served: { methods: new Set(methods), streaming: new Set(streaming_methods) },
    loadInfo: load_info,
  };
}

function loadError(err: SaxError, workerId: string): SaxError {
  if (err instanceof WorkerDiedError) return err;
  const hint = err.code === "DEADLINE_EXCEEDED" ? " (loadTimeoutMs)" : "";
  return new SaxError(err.code, `worker ${workerId} could not load the model: ${err.message}${hint}`, {
    model: err.model,
    method: "load",
    cause: err,
  });
}

function failedStream(err: SaxError): AsyncIterableIterator<Payload> {
  const queue = new ChunkQueue(() => undefined);
  queue.fail(err);
  return queue;
}
