/**
 * Extra inputs of a data call, from the client's plain objects to the `sax.ExtraInputs` message. Like
 * Saxml's Go client, every request carries the message, empty when there are no extra inputs.
 */
import { InvalidArgumentError } from "../common/errors.js";
import type { ExtraInputs as ExtraInputsMessage } from "../gen/sax/common.js";
import type { ExtraInputs } from "./types.js";

/** Checks `extra` and encodes it; INVALID_ARGUMENT names the offending entry. */
export function encodeExtraInputs(extra: ExtraInputs | undefined): ExtraInputsMessage {
  const message: ExtraInputsMessage = { items: {}, tensors: {}, strings: {} };
  for (const [name, value] of Object.entries(extra?.items ?? {})) {
    if (typeof value !== "number") throw invalid("items", name, "a number", value);
    message.items[name] = value;
  }
  for (const [name, values] of Object.entries(extra?.tensors ?? {})) {
    if (!Array.isArray(values) || !values.every((v) => typeof v === "number")) {
      throw invalid("tensors", name, "an array of numbers", values);
    }
    message.tensors[name] = { values: [...values] };
  }
  for (const [name, value] of Object.entries(extra?.strings ?? {})) {
    if (typeof value !== "string") throw invalid("strings", name, "a string", value);
    message.strings[name] = value;
  }
  return message;
}

function invalid(kind: string, name: string, expected: string, got: unknown): InvalidArgumentError {
  return new InvalidArgumentError(
    `extra input ${kind}[${JSON.stringify(name)}] must be ${expected}, got ${JSON.stringify(got) ?? String(got)}`,
  );
}
