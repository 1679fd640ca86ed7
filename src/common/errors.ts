/**
 * The one error type of sax-ts. Every failure that crosses a module boundary is a `SaxError` whose
 * `code` is a gRPC canonical code name, so that the gRPC adapter (src/grpc/status.ts) and the CLI can
 * map it without guessing.
 */

/** gRPC canonical status codes, by name, with their wire numbers. */
export const Code = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** Name of a gRPC canonical code, e.g. `"NOT_FOUND"`. */
export type CodeName = keyof typeof Code;

/** Returns the code name for a wire number; unknown numbers map to `UNKNOWN`. */
export function codeNameOf(code: number): CodeName {
  const entry = Object.entries(Code).find(([, value]) => value === code);
  return entry ? (entry[0] as CodeName) : "UNKNOWN";
}

/** Fields callers may branch on, carried along with the message. */
export interface SaxErrorDetails {
  /** Model id the failure concerns, e.g. `/sax/test/lm`. */
  model?: string;
  /** RPC or data method that failed. */
  method?: string;
  /** The underlying error. */
  cause?: unknown;
}

/** A failure with a gRPC canonical code and a message that says what to do next. */
export class SaxError extends Error {
  override readonly name: string = "SaxError";
  readonly code: CodeName;
  readonly model: string | undefined;
  readonly method: string | undefined;

  constructor(code: CodeName, message: string, details: SaxErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.model = details.model;
    this.method = details.method;
  }
}

/** Input that breaks a validation rule (naming, config, request fields). */
export class InvalidArgumentError extends SaxError {
  override readonly name = "InvalidArgumentError";
  constructor(message: string, details: SaxErrorDetails = {}) {
    super("INVALID_ARGUMENT", message, details);
  }
}

/** A configuration (flags, config files, schemas) that does not validate. */
export class ConfigError extends SaxError {
  override readonly name = "ConfigError";
  constructor(message: string, details: SaxErrorDetails = {}) {
    super("INVALID_ARGUMENT", message, details);
  }
}

/** Returns `err` if it is a SaxError, else wraps it with `fallback` as code. */
export function toSaxError(err: unknown, fallback: CodeName = "INTERNAL"): SaxError {
  if (err instanceof SaxError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SaxError(fallback, message, { cause: err });
}

/** Type guard for a SaxError, optionally of one code. */
export function isSaxError(err: unknown, code?: CodeName): err is SaxError {
  return err instanceof SaxError && (code === undefined || err.code === code);
}
