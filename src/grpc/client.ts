/**
 * Typed outgoing calls over generated service definitions, with deadlines and AbortSignals, failing
 * with SaxErrors.
 */
import { Client, credentials, Metadata, type MethodDefinition } from "@grpc/grpc-js";
import { SaxError } from "../common/errors.js";
import { grpcService, type GenericService } from "./definitions.js";
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
    const call = client.makeUnaryRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      new Metadata(),
      { deadline: deadlineOf(options) },
      (err, response) => {
        unlink();
        if (err) reject(fromServiceError(err, method.path));
        else if (response === undefined)
          reject(new SaxError("INTERNAL", `empty response from ${method.path}`));
        else resolve(response);
      },
    );
    const unlink = cancelOnAbort(options.signal, () => call.cancel());
  });
}

/** Calls a server-streaming method; yields each response, failing with a SaxError. */
export async function* callServerStream<Req, Res>(
  client: Client,
  method: MethodDefinition<Req, Res>,
  request: Req,
  options: CallOptions = {},
): AsyncIterable<Res> {
  if (options.signal?.aborted) throw abortError(options.signal);
  const call = client.makeServerStreamRequest(
    method.path,
    method.requestSerialize,
    method.responseDeserialize,
    request,
    new Metadata(),
    { deadline: deadlineOf(options) },
  );
  const unlink = cancelOnAbort(options.signal, () => call.cancel());
  try {
    for await (const response of call) yield response as Res;
  } catch (err) {
    throw fromServiceError(err, method.path);
  } finally {
    unlink();
    call.cancel();
  }
}

/** The grpc-js deadline for `options.timeoutMs`, counted from now. */
function deadlineOf(options: CallOptions): number {
  return options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
}

/** Runs `cancel` if `signal` aborts; returns the function that unhooks it. */
function cancelOnAbort(signal: AbortSignal | undefined, cancel: () => void): () => void {
  signal?.addEventListener("abort", cancel, { once: true });
  return () => signal?.removeEventListener("abort", cancel);
}

function abortError(signal: AbortSignal): SaxError {
  return signal.reason instanceof SaxError
    ? signal.reason
    : new SaxError("CANCELLED", "the call was cancelled");
}

/** A message type that can fill defaults into a partial message (ts-proto's `fromPartial`). */
interface PartialCodec<T> {
  fromPartial(object: never): T;
}

type RequestType<M> = M extends { requestType: PartialCodec<infer R> } ? R : never;
type ResponseType<M> = M extends { responseType: PartialCodec<infer R> } ? R : never;
type PartialInput<M> = M extends { requestType: { fromPartial(object: infer P): unknown } } ? P : never;

/** Promise-returning unary calls of a service, taking partial requests, plus `close()`. */
export type UnaryClient<S extends GenericService> = {
  [K in keyof S["methods"]]: (
    request: PartialInput<S["methods"][K]>,
    options?: CallOptions,
  ) => Promise<ResponseType<S["methods"][K]>>;
} & { close(): void };

/** A typed client of the unary methods of `service` at `address`. */
export function unaryClient<S extends GenericService>(service: S, address: string): UnaryClient<S> {
  const channel = openChannel(address);
  const methods = grpcService(service) as Record<string, MethodDefinition<unknown, unknown>>;
  const calls: Record<string, unknown> = { close: () => channel.close() };
  for (const [key, definition] of Object.entries(methods)) {
    const { requestType } = service.methods[key] as unknown as {
      requestType: PartialCodec<RequestType<never>>;
    };
    calls[key] = (request: never, options?: CallOptions) =>
      callUnary(channel, definition, requestType.fromPartial(request), options);
  }
  return calls as UnaryClient<S>;
}
