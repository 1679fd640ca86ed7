/**
 * The life of one client call: the caller's AbortSignal, its deadline (`timeoutMs`, counted from the
 * start of the call and covering every retry), and the client's own close, folded into one signal that
 * every wait and RPC of the call follows.
 */
import { setMaxListeners } from "node:events";
import { SaxError } from "../common/errors.js";
import type { CallOptions as RpcOptions } from "../grpc/client.js";
import type { CallOptions } from "./types.js";

/**
 * The controller of a client's close signal. Every call in flight listens on that signal, so it must
 * take any number of listeners: Node's default of 10 would warn of a leak at the 11th concurrent call.
 */
export function clientCloser(): AbortController {
  const closer = new AbortController();
  setMaxListeners(0, closer.signal);
  return closer;
}

/** What {@link CallScope.whenEnded} rejects with; ask {@link CallScope.failure} for the error to report. */
export class ScopeEndedError extends Error {
  override readonly name = "ScopeEndedError";
}

/** Why a scope ended before its call did. */
type EndReason = "deadline" | "caller" | "closed";

/** How far before the scope's deadline a gRPC deadline error still counts as that deadline (timer skew). */
const DEADLINE_SLACK_MS = 5;

/** Deadline and cancellation of one call; {@link CallScope.close} it when the call is over. */
export class CallScope {
  /** Aborts when the deadline passes, the caller aborts, or the client closes. */
  readonly signal: AbortSignal;
  /** The deadline in epoch milliseconds, if the call has one. */
  readonly deadlineMs: number | undefined;
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout | undefined;
  private reason: EndReason | undefined;
  private ended: Promise<never> | undefined;
  private readonly unhook: () => void;

  /**
   * @param what names the call in error messages, e.g. `/sax.Admin/List` or `lm.generate on /sax/test/lm`
   * @param closed the client's close signal
   */
  constructor(
    private readonly options: CallOptions,
    closed: AbortSignal,
    readonly what: string,
  ) {
    this.signal = this.controller.signal;
    const { timeoutMs, signal } = options;
    if (timeoutMs !== undefined && !(timeoutMs >= 0)) {
      throw new SaxError("INVALID_ARGUMENT", `timeoutMs must be a non-negative number, got ${timeoutMs}`);
    }
    this.deadlineMs = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    const onCaller = () => this.end("caller");
    const onClosed = () => this.end("closed");
    signal?.addEventListener("abort", onCaller, { once: true });
    closed.addEventListener("abort", onClosed, { once: true });
    this.unhook = () => {
      signal?.removeEventListener("abort", onCaller);
      closed.removeEventListener("abort", onClosed);
    };
    if (timeoutMs !== undefined) this.timer = setTimeout(() => this.end("deadline"), timeoutMs);
    if (closed.aborted) this.end("closed");
    else if (signal?.aborted) this.end("caller");
  }

  /** Milliseconds left before the deadline (0 once passed); `undefined` without a deadline. */
  remainingMs(): number | undefined {
    return this.deadlineMs === undefined ? undefined : Math.max(0, this.deadlineMs - Date.now());
  }

  /** Options for one RPC of this call: the time left as gRPC deadline, cancelled with the scope. */
  rpcOptions(capMs?: number): RpcOptions {
    const remaining = this.remainingMs();
    const timeoutMs =
      remaining === undefined ? capMs : capMs === undefined ? remaining : Math.min(remaining, capMs);
    return timeoutMs === undefined ? { signal: this.signal } : { signal: this.signal, timeoutMs };
  }

  /**
   * The error a call ended by this scope fails with: DEADLINE_EXCEEDED, the caller's abort reason (a
   * SaxError) or CANCELLED. `last` is the error of the last attempt, kept as the cause.
   */
  failure(last?: SaxError): SaxError {
    const lastNote = last ? `; last error: ${last.message}` : "";
    const details = { method: last?.method, model: last?.model, cause: last };
    switch (this.reason ?? "caller") {
      case "deadline":
        return new SaxError(
          "DEADLINE_EXCEEDED",
          `${this.what} did not complete within timeoutMs=${this.options.timeoutMs}${lastNote}; raise timeoutMs`,
          details,
        );
      case "closed":
        return new SaxError("CANCELLED", `${this.what} was cancelled: the Sax client is closed`, details);
      case "caller": {
        const reason: unknown = this.options.signal?.reason;
        if (reason instanceof SaxError) return reason;
        return new SaxError("CANCELLED", `${this.what} was cancelled by the caller${lastNote}`, details);
      }
    }
  }

  /**
   * Rejects with a {@link ScopeEndedError} once the scope ends: a safety net raced against work that might
   * not follow the signal.
   */
  whenEnded(): Promise<never> {
    this.ended ??= new Promise<never>((_, reject) => {
      const ended = () => reject(new ScopeEndedError(`${this.what} ended`));
      if (this.signal.aborted) ended();
      else this.signal.addEventListener("abort", ended, { once: true });
    });
    return this.ended;
  }

  /** Ends the scope early because the next retry could not start before the deadline. */
  expire(): void {
    this.end("deadline");
  }

  /**
   * Whether `err` is this scope's own deadline reported by gRPC (whose timer for the same instant may
   * fire before the scope's): then the scope ends as past its deadline, so the call fails with the
   * scope's DEADLINE_EXCEEDED message rather than gRPC's.
   */
  endedByDeadline(err: SaxError): boolean {
    const remaining = this.remainingMs();
    if (err.code !== "DEADLINE_EXCEEDED" || remaining === undefined || remaining > DEADLINE_SLACK_MS)
      return false;
    this.end("deadline");
    return true;
  }

  /** Ends the scope as if the client had closed. */
  cancel(): void {
    this.end("closed");
  }

  /** Releases the timer and listeners; the signal stays as it is. */
  close(): void {
    clearTimeout(this.timer);
    this.unhook();
  }

  private end(reason: EndReason): void {
    if (this.reason) return;
    this.reason = reason;
    clearTimeout(this.timer);
    this.controller.abort(reason);
  }
}

/** Waits `ms`; resolves `false` at once if `signal` aborts first. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
