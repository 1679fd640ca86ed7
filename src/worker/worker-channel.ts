/**
 * One conversation with one worker process over a Transport: the READY handshake, request ids, the
 * pending map, cancellation and deadlines, streams. It knows nothing of processes; the supervisor
 * closes it with the reason (usually a WorkerDiedError) when the process goes away, and every pending
 * request fails with that reason.
 *
 * A request leaves the pending map exactly once: on its final reply (`result`, `end`, `error`), when the
 * caller's AbortSignal fires or its deadline passes (the worker is then sent `cancel` and its late
 * replies are dropped), or when the channel closes.
 */
import { SaxError } from "../common/errors.js";
import type { Logger } from "../common/log.js";
import { ChunkQueue } from "./chunk-queue.js";
import {
  decodeWorkerMessage,
  encodeMessage,
  type Payload,
  type ReadyMessage,
  type SupervisorMessage,
  type WorkerMessage,
} from "./protocol.js";
import type { Transport } from "./transport.js";

/** Per-request options. */
export interface RequestOptions {
  /** Aborting it fails the request with CANCELLED and tells the worker to stop. */
  signal?: AbortSignal | undefined;
  /** Time budget in milliseconds; past it the request fails with DEADLINE_EXCEEDED. @default none */
  deadlineMs?: number | undefined;
}

/** Options of a WorkerChannel. */
export interface WorkerChannelOptions {
  /** Used in error messages and logs. */
  workerId: string;
  /** Model key, for error details. */
  model?: string | undefined;
  logger: Logger;
  /** Called on a malformed or out-of-order message; the channel is unusable afterwards. */
  onProtocolError?: (err: SaxError) => void;
}

interface Sink {
  readonly method: string;
  result(body: Payload): void;
  chunk(body: Payload): void;
  end(): void;
  fail(err: SaxError): void;
}

interface Entry {
  readonly sink: Sink;
  readonly cleanup: () => void;
}

/** Request multiplexing over one worker connection. */
export class WorkerChannel {
  /** Resolves with the worker's READY message; rejects if the channel closes first. */
  readonly ready: Promise<ReadyMessage>;
  /** The message of the worker's `fatal`, if it sent one. */
  fatalMessage: string | undefined;
  private readonly pending = new Map<number, Entry>();
  private idleWaiters: (() => void)[] = [];
  private nextId = 1;
  private closedBy: SaxError | undefined;
  private readyState: { resolve(m: ReadyMessage): void; reject(e: SaxError): void; seen: boolean };

  constructor(
    private readonly transport: Transport,
    private readonly options: WorkerChannelOptions,
  ) {
    let resolve!: (m: ReadyMessage) => void;
    let reject!: (e: SaxError) => void;
    this.ready = new Promise((res, rej) => ((resolve = res), (reject = rej)));
    this.ready.catch(() => undefined); // observed by whoever awaits it; never an unhandled rejection
    this.readyState = { resolve, reject, seen: false };
    this.receiveLoop().catch((err: unknown) =>
      this.protocolError(new SaxError("INTERNAL", `receiving from worker failed: ${String(err)}`)),
    );
  }

  /** Whether the channel was closed. */
  get closed(): boolean {
    return this.closedBy !== undefined;
  }

  /** Why the channel was closed, once it is. */
  get closeReason(): SaxError | undefined {
    return this.closedBy;
  }

  /** Number of requests waiting for their final reply. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Resolves when no request is in flight. */
  whenIdle(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Asks the worker to build its servable; resolves with `{methods, streaming_methods, load_info?}`. */
  load(config: Payload, checkpoint: string, seed: number, options: RequestOptions = {}): Promise<Payload> {
    return this.unary("load", options, (id) => ({ type: "load", id, config, checkpoint, seed }));
  }

  /** Runs a unary data method. */
  call(method: string, request: Payload, options: RequestOptions = {}): Promise<Payload> {
    return this.unary(method, options, (id) => this.callMessage(id, method, request, options));
  }

  /** Runs a streaming data method; the request is sent at once, chunks arrive as they come. */
  stream(method: string, request: Payload, options: RequestOptions = {}): AsyncIterableIterator<Payload> {
    const id = this.nextId++;
    const queue = new ChunkQueue(() => this.abandon(id, undefined));
    if (this.closedBy) {
      queue.fail(this.closedBy);
      return queue;
    }
    const sink: Sink = {
      method,
      result: () => queue.fail(this.unexpected("result", method, id)),
      chunk: (body) => queue.push(body),
      end: () => queue.end(),
      fail: (err) => queue.fail(err),
    };
    this.start(id, sink, options, this.callMessage(id, method, request, options));
    return queue;
  }

  /** Sends `shutdown`; the worker cancels what runs and exits. */
  async shutdown(): Promise<void> {
    if (this.closedBy) throw this.closedBy;
    await this.transport.send(encodeMessage({ type: "shutdown" }));
  }

  /** Fails every pending request (and a pending READY) with `reason` and closes the transport. */
  close(reason: SaxError): void {
    if (this.closedBy) return;
    this.closedBy = reason;
    this.readyState.reject(reason);
    for (const id of [...this.pending.keys()]) this.take(id)?.fail(reason);
    this.transport.close();
  }

  private unary(method: string, options: RequestOptions, build: (id: number) => SupervisorMessage) {
    if (this.closedBy) return Promise.reject(this.closedBy);
    const id = this.nextId++;
    return new Promise<Payload>((resolve, reject) => {
      const sink: Sink = {
        method,
        result: resolve,
        chunk: () => this.protocolError(this.unexpected("chunk", method, id)),
        end: () => reject(this.unexpected("end", method, id)),
        fail: reject,
      };
      this.start(id, sink, options, build(id));
    });
  }

  private callMessage(id: number, method: string, request: Payload, options: RequestOptions) {
    return { type: "call", id, method, request, deadline_ms: options.deadlineMs } as const;
  }

  /** Registers the request with its signal and deadline, then sends it. */
  private start(id: number, sink: Sink, options: RequestOptions, message: SupervisorMessage): void {
    const { signal, deadlineMs } = options;
    if (signal?.aborted) return sink.fail(this.cancelled(sink.method, id));
    const onAbort = () => this.abandon(id, this.cancelled(sink.method, id));
    signal?.addEventListener("abort", onAbort, { once: true });
    const timer =
      deadlineMs === undefined
        ? undefined
        : setTimeout(() => this.abandon(id, this.expired(sink.method, id, deadlineMs)), deadlineMs);
    const cleanup = () => {
      signal?.removeEventListener("abort", onAbort);
      clearTimeout(timer);
    };
    this.pending.set(id, { sink, cleanup });
    this.transport.send(encodeMessage(message)).catch((err: unknown) => {
      this.take(id)?.fail(
        this.closedBy ?? new SaxError("UNAVAILABLE", `sending to worker failed: ${String(err)}`),
      );
    });
  }

  /** Gives up on a request locally and tells the worker to stop it; `reason` undefined means silently. */
  private abandon(id: number, reason: SaxError | undefined): void {
    const sink = this.take(id);
    if (!sink) return;
    if (reason) sink.fail(reason);
    if (this.closedBy) return;
    this.transport.send(encodeMessage({ type: "cancel", id })).catch(() => undefined);
  }

  private take(id: number): Sink | undefined {
    const entry = this.pending.get(id);
    if (!entry) return undefined;
    this.pending.delete(id);
    entry.cleanup();
    if (this.pending.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      waiters.forEach((wake) => wake());
    }
    return entry.sink;
  }

  private async receiveLoop(): Promise<void> {
    for await (const frame of this.transport.frames()) {
      if (this.closedBy) return;
      let message: WorkerMessage;
      try {
        message = decodeWorkerMessage(frame);
      } catch (err) {
        return this.protocolError(err as SaxError);
      }
      this.dispatch(message);
    }
  }

  private dispatch(message: WorkerMessage): void {
    if (message.type !== "ready" && !this.readyState.seen && message.type !== "fatal") {
      return this.protocolError(new SaxError("INTERNAL", `worker sent ${message.type} before ready`));
    }
    switch (message.type) {
      case "ready":
        if (this.readyState.seen)
          return this.protocolError(new SaxError("INTERNAL", "worker sent ready twice"));
        this.readyState.seen = true;
        return this.readyState.resolve(message);
      case "result":
        return this.take(message.id)?.result(message.body);
      case "chunk":
        return this.pending.get(message.id)?.sink.chunk(message.body);
      case "end":
        return this.take(message.id)?.end();
      case "error": {
        const sink = this.take(message.id);
        return sink?.fail(new SaxError(message.code, message.message, this.details(sink.method)));
      }
      case "fatal":
        this.fatalMessage = message.message;
        return this.options.logger.error(`worker ${this.options.workerId} fatal: ${message.message}`);
    }
  }

  private protocolError(err: SaxError): void {
    if (this.closedBy) return;
    this.options.logger.error(`worker ${this.options.workerId}: ${err.message}`);
    this.close(err);
    this.options.onProtocolError?.(err);
  }

  private details(method: string) {
    return { method, model: this.options.model };
  }

  private unexpected(what: string, method: string, id: number): SaxError {
    return new SaxError("INTERNAL", `worker sent ${what} for ${method} request ${id}`, this.details(method));
  }

  private cancelled(method: string, id: number): SaxError {
    const message = `${method} request ${id} was cancelled by the caller`;
    return new SaxError("CANCELLED", message, this.details(method));
  }

  private expired(method: string, id: number, deadlineMs: number): SaxError {
    const message = `${method} request ${id} did not finish within its deadline of ${deadlineMs} ms`;
    return new SaxError("DEADLINE_EXCEEDED", message, this.details(method));
  }
}
