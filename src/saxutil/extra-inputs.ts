/**
 * The `-extra` flag of the data commands: `key:value` pairs separated by commas, e.g.
 * `temperature:0.5,mode:'greedy',tag:abc`. A value in matching quotes is a string; a value that reads as
 * a Go float32 literal is a number; anything else is a string as written. Tensors cannot be given here.
 */
import { SaxError } from "../common/errors.js";
import { parseGoFloat32 } from "./go-values.js";

/** Extra inputs parsed from `-extra`, in the shape of the client library's `ExtraInputs`. */
export interface ParsedExtraInputs {
  readonly items: Record<string, number>;
  readonly strings: Record<string, string>;
}

/**
 * Parses an `-extra` value; `undefined` for an empty one.
 *
 * @throws SaxError INVALID_ARGUMENT when a pair does not split into exactly one key and one value.
 */
export function parseExtraInputs(extra: string): ParsedExtraInputs | undefined {
  if (extra === "") return undefined;
  const items: Record<string, number> = {};
  const strings: Record<string, string> = {};
  for (const pair of extra.split(",")) {
    const parts = pair.split(":");
    if (parts.length !== 2) {
      throw new SaxError(
        "INVALID_ARGUMENT",
        `key-value pair for an extra input must be separated by ':', but found '${extra}' ` +
          `(write key:value pairs separated by commas, e.g. -extra="temperature:0.5,mode:'greedy'")`,
      );
    }
    const [key = "", value = ""] = parts;
    const quote = value[0];
    if (value.length >= 2 && (quote === '"' || quote === "'") && value.endsWith(quote)) {
      strings[key] = value.slice(1, -1);
      continue;
    }
    const number = tryFloat32(value);
    if (number === undefined) strings[key] = value;
    else items[key] = number;
  }
  return { items, strings };
}

function tryFloat32(text: string): number | undefined {
  try {
    return parseGoFloat32(text);
  } catch {
    return undefined;
  }
}
