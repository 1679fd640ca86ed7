/**
 * Typed outgoing calls over generated service definitions, with deadlines and AbortSignals, failing
 * with SaxErrors.
 */
import { Client, credentials, Metadata, type MethodDefinition } from "@grpc/grpc-js";
import { SaxError } from "../common/errors.js";
import { fromServiceError } from "./status.js";

/** Per-call options. */
export interface CallOptions {
  /** Give up after this many milliseconds (DEADLINE_EXCEEDED). */
  readonly timeoutMs?: number;
  /** Cancels the call (CANCELLED). */
  readonly signal?: AbortSignal;
}

/** Opens an insecure channel to `address` (`host:port`). */
export function openChannel(address: string): Client {
  return new Client(address, credentials.createInsecure(), {
    "grpc.max_receive_message_length": 256 * 1024 * 1024,
  });
}

/** Calls a unary method; resolves with the response or rejects with a SaxError. */
export function callUnary<Req, Res>(
  client: Client,
  method: MethodDefinition<Req, Res>,
  request: Req,
  options: CallOptions = {},
): Promise<Res> {
  if (options.signal?.aborted) return Promise.reject(abortError(options.signal));
  return new Promise<Res>((resolve, reject) => {
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    const call = client.makeUnaryRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      new Metadata(),
      { deadline },
      (err, response) => {
        options.signal?.removeEventListener("abort", onAbort);
        if (err) reject(fromServiceError(err, method.path));
        else if (response === undefined) reject(new SaxError("INTERNAL", `empty response from ${method.path}`));
        else resolve(response);
      },
    );
    const onAbort = () => call.cancel();
    options.signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function abortError(signal: AbortSignal): SaxError {
  return signal.reason instanceof SaxError ? signal.reason : new SaxError("CANCELLED", "the call was cancelled");
}
