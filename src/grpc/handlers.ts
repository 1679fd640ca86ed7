/**
 * Adapters from promise-returning functions to grpc-js callback handlers, so that service code is plain
 * async functions that throw SaxErrors.
 */
import type { handleUnaryCall, ServerUnaryCall, sendUnaryData } from "@grpc/grpc-js";
import { SaxError } from "../common/errors.js";
import { toServiceError } from "./status.js";

/** Cancellation and deadline of one incoming call. */
export interface CallContext {
  /** Aborted when the client cancels or the call's deadline passes. */
  readonly signal: AbortSignal;
  /** Address of the calling peer, for logs. */
  readonly peer: string;
}

/** A unary handler; it may answer synchronously or asynchronously, and fail by throwing. */
export type UnaryHandler<Req, Res> = (request: Req, ctx: CallContext) => Res | Promise<Res>;

/** Wraps an async handler as a grpc-js unary handler; thrown errors become gRPC statuses. */
export function unary<Req, Res>(handler: UnaryHandler<Req, Res>): handleUnaryCall<Req, Res> {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    const ctx = contextOf(call);
    Promise.resolve()
      .then(() => handler(call.request, ctx))
      .then(
        (response) => callback(null, response),
        (err: unknown) => callback(toServiceError(err)),
      );
  };
}

/** Builds the CallContext of a call: its signal fires on cancel or when the deadline passes. */
export function contextOf(call: ServerUnaryCall<unknown, unknown>): CallContext {
  const controller = new AbortController();
  const abort = (reason: SaxError) => {
    if (!controller.signal.aborted) controller.abort(reason);
  };
  call.on("cancelled", () => abort(new SaxError("CANCELLED", "the call was cancelled by the client")));
  const deadline = call.getDeadline();
  const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
  if (Number.isFinite(deadlineMs) && deadlineMs > 0) {
    const timer = setTimeout(
      () => abort(new SaxError("DEADLINE_EXCEEDED", "the call's deadline passed")),
      Math.max(0, deadlineMs - Date.now()),
    );
    timer.unref();
    controller.signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
  }
  return { signal: controller.signal, peer: call.getPeer() };
}
