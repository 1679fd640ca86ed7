/**
 * Parsers and printers for the value syntaxes Saxml's Go binaries accept on the command line, so that
 * scripts written for the original saxutil keep working: Go booleans, integers (`0x10`, `1_000`),
 * durations (`90s`, `1m30s`) and float32 literals (`0.5`, `1e-3`, `0x1p-2`, `inf`).
 *
 * Every parser throws a plain `Error` whose message is the short reason Go's flag package prints
 * (`parse error`, `value out of range`); callers add the flag name.
 */

/** The reason Go's flag package gives for a value it cannot parse. */
export const PARSE_ERROR = "parse error";
/** The reason Go's flag package gives for an integer that does not fit. */
export const RANGE_ERROR = "value out of range";

const TRUE_WORDS = new Set(["1", "t", "T", "true", "TRUE", "True"]);
const FALSE_WORDS = new Set(["0", "f", "F", "false", "FALSE", "False"]);

/** Parses a Go boolean (`1`, `t`, `true`, `TRUE`, `True` and their false counterparts). */
export function parseGoBool(text: string): boolean {
  if (TRUE_WORDS.has(text)) return true;
  if (FALSE_WORDS.has(text)) return false;
  throw new Error(PARSE_ERROR);
}

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/**
 * Parses a Go integer as a flag does (base prefix `0x`, `0o`, `0b`, a leading `0` for octal, `_`
 * between digits). With `decimalOnly` it parses like `strconv.Atoi`: an optional sign and decimal digits.
 */
export function parseGoInt(text: string, decimalOnly = false): number {
  const signed = /^[+-]/.test(text);
  const negative = text.startsWith("-");
  let body = signed ? text.slice(1) : text;
  let radix = 10;
  if (!decimalOnly) {
    const prefix = /^0([xXoObB])/.exec(body)?.[1]?.toLowerCase();
    if (prefix !== undefined) {
      radix = prefix === "x" ? 16 : prefix === "o" ? 8 : 2;
      body = body.slice(2);
    } else if (/^0./.test(body)) {
      radix = 8;
      body = body.slice(1);
    }
    if (body.includes("_")) {
      if (!underscoresBetweenDigits(text)) throw new Error(PARSE_ERROR);
      body = body.replaceAll("_", "");
    }
  }
  const digit = { 2: "[01]", 8: "[0-7]", 10: "[0-9]", 16: "[0-9a-fA-F]" }[radix];
  if (!new RegExp(`^${digit}+$`).test(body)) throw new Error(PARSE_ERROR);
  const prefix = { 2: "0b", 8: "0o", 10: "", 16: "0x" }[radix];
  const magnitude = BigInt(`${prefix}${body}`);
  const value = negative ? -magnitude : magnitude;
  if (value > INT64_MAX || value < INT64_MIN) throw new Error(RANGE_ERROR);
  return Number(value);
}

/**
 * Go's rule for `_` in number literals: each underscore sits between two digits, or right after a base
 * prefix, and never ends the number.
 */
function underscoresBetweenDigits(literal: string): boolean {
  let text = literal.replace(/^[+-]/, "");
  let hex = false;
  let last: "start" | "digit" | "underscore" | "other" = "start";
  const prefix = /^0[xXoObB]/.exec(text);
  if (prefix) {
    hex = /[xX]/.test(prefix[0]);
    text = text.slice(2);
    last = "digit";
  }
  for (const ch of text) {
    if (/[0-9]/.test(ch) || (hex && /[a-fA-F]/.test(ch))) {
      last = "digit";
    } else if (ch === "_") {
      if (last !== "digit") return false;
      last = "underscore";
    } else {
      if (last === "underscore") return false;
      last = "other";
    }
  }
  return last !== "underscore";
}

const DURATION_UNITS_NS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Parses a Go duration (`60s`, `1.5h`, `1m30s`, `300ms`, `0`) into milliseconds. */
export function parseGoDuration(text: string): number {
  let rest = text;
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    sign = rest.startsWith("-") ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") throw new Error(PARSE_ERROR);
  let totalNs = 0;
  while (rest !== "") {
    const match = /^(\d*)(?:\.(\d*))?([^\d.]*)/.exec(rest);
    const [whole, intPart = "", fracPart, unit = ""] = match ?? [];
    if (whole === undefined || (intPart === "" && (fracPart ?? "") === "")) throw new Error(PARSE_ERROR);
    const scale = DURATION_UNITS_NS[unit];
    if (scale === undefined) throw new Error(PARSE_ERROR);
    totalNs += Number(`${intPart || "0"}.${fracPart ?? ""}0`) * scale;
    rest = rest.slice(whole.length);
  }
  return (sign * totalNs) / 1e6;
}

/** Formats milliseconds as Go's `time.Duration.String` does: `1m0s`, `1.5s`, `300ms`, `0s`. */
export function formatGoDuration(ms: number): string {
  let ns = Math.round(Math.abs(ms) * 1e6);
  const sign = ms < 0 && ns > 0 ? "-" : "";
  if (ns === 0) return "0s";
  if (ns < 1e9) {
    const [unit, scale] = ns < 1e3 ? ["ns", 1] : ns < 1e6 ? ["µs", 1e3] : ["ms", 1e6];
    return `${sign}${trimFraction(ns / scale)}${unit}`;
  }
  const hours = Math.floor(ns / 3600e9);
  ns -= hours * 3600e9;
  const minutes = Math.floor(ns / 60e9);
  ns -= minutes * 60e9;
  const seconds = trimFraction(ns / 1e9);
  if (hours > 0) return `${sign}${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${sign}${minutes}m${seconds}s`;
  return `${sign}${seconds}s`;
}

function trimFraction(value: number): string {
  return value.toFixed(9).replace(/\.?0+$/, "");
}

const FLOAT32_SPECIALS = /^(?:([+-]?)(inf|infinity)|(nan))$/i;
const DECIMAL_FLOAT = /^[+-]?(?:[0-9_]+\.?[0-9_]*|\.[0-9_]+)(?:[eE][+-]?[0-9_]+)?$/;
const HEX_FLOAT = /^([+-]?)0[xX]([0-9a-fA-F_]*)(?:\.([0-9a-fA-F_]*))?[pP]([+-]?[0-9_]+)$/;

/**
 * Parses a Go float32 literal as `strconv.ParseFloat(text, 32)` does, returning the float32 value.
 * Accepts decimal and exponent forms, `_` between digits, hex floats with a `p` exponent (`0x1p-2`),
 * and `inf`, `infinity`, `nan` in any case; a value beyond float32's range is an error.
 */
export function parseGoFloat32(text: string): number {
  const special = FLOAT32_SPECIALS.exec(text);
  if (special) return special[3] !== undefined ? NaN : special[1] === "-" ? -Infinity : Infinity;
  let value: number;
  const hex = HEX_FLOAT.exec(text);
  if (hex) {
    if (text.includes("_") && !underscoresBetweenDigits(text.replace(/[pP].*$/, ""))) {
      throw new Error(PARSE_ERROR);
    }
    const [, sign, intDigits = "", fracDigits = "", exponent = "0"] = hex;
    const intHex = intDigits.replaceAll("_", "");
    const fracHex = fracDigits.replaceAll("_", "");
    if (intHex === "" && fracHex === "") throw new Error(PARSE_ERROR);
    const mantissa = Number.parseInt(`${intHex}${fracHex}` || "0", 16) / 16 ** fracHex.length;
    value = (sign === "-" ? -1 : 1) * mantissa * 2 ** Number(exponent.replaceAll("_", ""));
  } else if (DECIMAL_FLOAT.test(text) && /[0-9]/.test(text.replace(/[eE].*$/, ""))) {
    if (text.includes("_") && !underscoresBetweenDigits(text)) throw new Error(PARSE_ERROR);
    value = Number(text.replaceAll("_", ""));
    if (Number.isNaN(value)) throw new Error(PARSE_ERROR);
  } else {
    throw new Error(PARSE_ERROR);
  }
  const single = Math.fround(value);
  if (!Number.isFinite(single)) throw new Error(RANGE_ERROR);
  return single;
}

/** Quotes a string as Go's `%q` does for printable text (used for string flag defaults). */
export function quoteGo(text: string): string {
  return JSON.stringify(text);
}
