/**
 * The wire protocol between the model server (the supervisor) and one Python worker process.
 * python-runtime/sax_worker/protocol.py mirrors this file; test/fixtures/worker-protocol/golden.json
 * pins the bytes both sides must agree on.
 *
 * Transport. The supervisor BINDS one ZeroMQ DEALER socket per worker process on `ipc://<dir>/w<n>.sock`,
 * `<dir>` a fresh 0700 temp dir, and passes the endpoint on the worker's command line; the worker CONNECTS
 * its own DEALER. ipc rather than tcp://127.0.0.1: no port to allocate or leak, nothing reachable from
 * another host, and the directory's permissions keep other users off the socket. DEALER↔DEALER rather
 * than PAIR: both ends send whenever they like (replies interleave freely), and PAIR is documented for
 * inproc only (no reconnection handling). Each incarnation of a worker gets its own socket, so a message
 * queued for a dead process can never reach its successor.
 *
 * Framing. One ZeroMQ frame = one msgpack map, `type` first, then the fields in the order listed below
 * (so encoders are byte-for-byte comparable). No pickle, no extension types. Arrays travel as tensors,
 * maps of exactly `{dtype, shape, data}` with `data` the raw little-endian bytes (msgpack bin), see
 * tensor.ts. Payloads (`request`, `body`) are method-specific maps whose shapes are documented in
 * python-runtime/sax_worker/servables/base.py.
 *
 * Handshake. The worker's first message is `ready {version, pid, worker_id, capabilities}`. The
 * supervisor refuses a different MAJOR version (minor versions only add optional fields) and a
 * worker_id other than the one it started.
 *
 * Messages, supervisor → worker:
 * - `load {id, config, checkpoint, seed}`: build the servable; answered by `result {id, body: {methods,
 *   streaming_methods, load_info?}}` (load_info: numbers by name, what loading cost) or `error`.
 * - `call {id, method, request, deadline_ms?}`: run a data method. `deadline_ms` is the time left, in
 *   milliseconds, when the supervisor sent it (relative, so the two clocks need not agree). A unary method
 *   answers `result`; a streaming one answers `chunk`* then `end`. Either may end with `error` instead.
 * - `cancel {id}`: stop request `id`; the worker answers `error {id, CANCELLED}` if it was still running,
 *   and nothing if it had already finished.
 * - `shutdown {}`: cancel what is running, release the model, exit 0.
 *
 * Messages, worker → supervisor:
 * - `result {id, body}`, `chunk {id, body}`, `end {id}`: answers to `load`/`call`.
 * - `error {id, code, message}`: the request failed; `code` is a gRPC code name.
 * - `fatal {message}`: the worker cannot go on; it exits non-zero right after.
 *
 * Requests are multiplexed by `id` (a positive integer chosen by the supervisor, unique per socket), so
 * many are in flight at once. An expired deadline is reported as `error DEADLINE_EXCEEDED`; a stream stops
 * at its next chunk once it is cancelled or expired.
 */
import { decode, encode } from "@msgpack/msgpack";
import { z } from "zod";
import { Code, SaxError, type CodeName } from "../common/errors.js";

/** Protocol version spoken by this side, `MAJOR.MINOR`. */
export const PROTOCOL_VERSION = "1.0";

/** A method payload (request or reply body), validated by whoever knows the method. */
export type Payload = Record<string, unknown>;

const idSchema = z.number().int().positive();
const payloadSchema = z.record(z.string(), z.unknown());
const codeNames = Object.keys(Code) as [CodeName, ...CodeName[]];

/** `ready`: the worker's first message. */
export const readyMessageSchema = z.object({
  type: z.literal("ready"),
  version: z.string(),
  pid: z.number().int(),
  worker_id: z.string(),
  capabilities: z.looseObject({
    frameworks: z.array(z.string()).describe("ML frameworks importable by the worker, e.g. jax, torch"),
    kinds: z.array(z.string()).describe("servable kinds its registry can build"),
  }),
});

/** `load`: builds the worker's servable from a config. */
export const loadMessageSchema = z.object({
  type: z.literal("load"),
  id: idSchema,
  config: payloadSchema,
  checkpoint: z.string(),
  seed: z.number().int(),
});

/** `call`: one data-method request. */
export const callMessageSchema = z.object({
  type: z.literal("call"),
  id: idSchema,
  method: z.string(),
  request: payloadSchema,
  deadline_ms: z.number().nonnegative().optional(),
});

/** `cancel`: stops a request. */
export const cancelMessageSchema = z.object({ type: z.literal("cancel"), id: idSchema });

/** `shutdown`: asks the worker to exit cleanly. */
export const shutdownMessageSchema = z.object({ type: z.literal("shutdown") });

/** `result`: the answer to a `load` or a unary `call`. */
export const resultMessageSchema = z.object({ type: z.literal("result"), id: idSchema, body: payloadSchema });

/** `chunk`: one piece of a streamed answer. */
export const chunkMessageSchema = z.object({ type: z.literal("chunk"), id: idSchema, body: payloadSchema });

/** `end`: a stream finished. */
export const endMessageSchema = z.object({ type: z.literal("end"), id: idSchema });

/** `error`: a request failed; unknown code names read as UNKNOWN. */
export const errorMessageSchema = z.object({
  type: z.literal("error"),
  id: idSchema,
  code: z.enum(codeNames).catch("UNKNOWN"),
  message: z.string(),
});

/** `fatal`: the worker is about to exit non-zero. */
export const fatalMessageSchema = z.object({ type: z.literal("fatal"), message: z.string() });

/** Any message the worker sends. */
export const workerMessageSchema = z.discriminatedUnion("type", [
  readyMessageSchema,
  resultMessageSchema,
  chunkMessageSchema,
  endMessageSchema,
  errorMessageSchema,
  fatalMessageSchema,
]);

/** Any message the supervisor sends. */
export const supervisorMessageSchema = z.discriminatedUnion("type", [
  loadMessageSchema,
  callMessageSchema,
  cancelMessageSchema,
  shutdownMessageSchema,
]);

/** Any message of the protocol, either direction. */
export const wireMessageSchema = z.discriminatedUnion("type", [
  ...workerMessageSchema.options,
  ...supervisorMessageSchema.options,
]);

export type ReadyMessage = z.infer<typeof readyMessageSchema>;
export type LoadMessage = z.infer<typeof loadMessageSchema>;
export type CallMessage = z.infer<typeof callMessageSchema>;
export type CancelMessage = z.infer<typeof cancelMessageSchema>;
export type ShutdownMessage = z.infer<typeof shutdownMessageSchema>;
export type ResultMessage = z.infer<typeof resultMessageSchema>;
export type ChunkMessage = z.infer<typeof chunkMessageSchema>;
export type EndMessage = z.infer<typeof endMessageSchema>;
export type ErrorMessage = z.infer<typeof errorMessageSchema>;
export type FatalMessage = z.infer<typeof fatalMessageSchema>;
/** A message from the worker. */
export type WorkerMessage = z.infer<typeof workerMessageSchema>;
/** A message to the worker. */
export type SupervisorMessage = z.infer<typeof supervisorMessageSchema>;
/** Any protocol message. */
export type WireMessage = z.infer<typeof wireMessageSchema>;

/** Field order on the wire, per message type; `type` always comes first. */
const FIELD_ORDER: { readonly [T in WireMessage["type"]]: readonly string[] } = {
  ready: ["version", "pid", "worker_id", "capabilities"],
  load: ["id", "config", "checkpoint", "seed"],
  call: ["id", "method", "request", "deadline_ms"],
  cancel: ["id"],
  shutdown: [],
  result: ["id", "body"],
  chunk: ["id", "body"],
  end: ["id"],
  error: ["id", "code", "message"],
  fatal: ["message"],
};

/** Encodes a message as one msgpack map, fields in protocol order, absent optional fields left out. */
export function encodeMessage(message: WireMessage): Uint8Array {
  const fields = message as Record<string, unknown>;
  const ordered: Record<string, unknown> = { type: message.type };
  for (const key of FIELD_ORDER[message.type]) {
    if (fields[key] !== undefined) ordered[key] = fields[key];
  }
  return encode(ordered);
}

/** Decodes and validates a message from the worker; throws SaxError INTERNAL on anything malformed. */
export function decodeWorkerMessage(frame: Uint8Array): WorkerMessage {
  return parseFrame(workerMessageSchema, frame, "worker message");
}

/** Decodes and validates a message of either direction (tests and tools). */
export function decodeMessage(frame: Uint8Array): WireMessage {
  return parseFrame(wireMessageSchema, frame, "protocol message");
}

/** Returns the major part of a `MAJOR.MINOR` version, or undefined when it is malformed. */
export function majorVersion(version: string): number | undefined {
  const match = /^(\d+)\.\d+$/.exec(version);
  return match ? Number(match[1]) : undefined;
}

function parseFrame<S extends z.ZodType>(schema: S, frame: Uint8Array, what: string): z.infer<S> {
  let raw: unknown;
  try {
    raw = decode(frame);
  } catch (err) {
    throw new SaxError("INTERNAL", `undecodable ${what} (${frame.length} bytes): ${String(err)}`, {
      cause: err,
    });
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
  throw new SaxError("INTERNAL", `malformed ${what}: ${issues.join("; ")}`);
}
