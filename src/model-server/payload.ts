/**
 * Worker payloads: the ExtraInputs form requests carry, and readers for reply payloads. The worker's protocol layer has already checked the message
 * envelope; these check the shape a service needs and fail INTERNAL, naming the field, when it differs.
 */
import { SaxError } from "../common/errors.js";
import type { ExtraInputs } from "../gen/sax/common.js";

function malformed(what: string): SaxError {
  return new SaxError("INTERNAL", `the worker returned a malformed reply: ${what}`);
}

/** The value as a string-keyed record. */
export function asRecord(value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw malformed("expected a map");
  return value as Record<string, unknown>;
}

/** A list of numbers (a typed array is accepted too). */
export function numbers(value: unknown): number[] {
  const list: unknown = ArrayBuffer.isView(value) ? Array.from(value as unknown as ArrayLike<number>) : value;
  if (!Array.isArray(list) || !list.every((x) => typeof x === "number"))
    throw malformed("expected a list of numbers");
  return list;
}

/** A list of records. */
export function records(value: unknown): Record<string, unknown>[] {
  if (!Array.isArray(value)) throw malformed("expected a list");
  return value.map((item) => asRecord(item));
}

/** A string field (missing means empty). */
export function str(value: unknown): string {
  if (value === undefined) return "";
  if (typeof value !== "string") throw malformed("expected a string");
  return value;
}

/** A number field (missing means 0). */
export function num(value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== "number") throw malformed("expected a number");
  return value;
}

/** A bytes field (msgpack bin arrives as a Uint8Array); missing means empty. */
export function bytes(value: unknown): Buffer {
  if (value === undefined) return Buffer.alloc(0);
  if (!(value instanceof Uint8Array)) throw malformed("expected bytes");
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/** The worker payload form of ExtraInputs. */
export function extraInputsPayload(extra: ExtraInputs | undefined) {
  const tensors: Record<string, number[]> = {};
  for (const [key, tensor] of Object.entries(extra?.tensors ?? {})) tensors[key] = tensor.values;
  return { items: { ...(extra?.items ?? {}) }, tensors, strings: { ...(extra?.strings ?? {}) } };
}
