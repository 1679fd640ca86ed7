/**
 * How a failed command is reported: one `saxutil: …` line saying what failed, on which cell or model,
 * why, and what to try next, and the exit status (1 for a failed operation, 2 for usage and
 * configuration errors).
 */
import { ConfigError, SaxError, toSaxError, type CodeName } from "../common/errors.js";
import { UsageError } from "./command.js";
import { formatGoDuration } from "./go-values.js";

/** Exit status of a failed operation. */
export const EXIT_FAILURE = 1;
/** Exit status of a usage or configuration error. */
export const EXIT_USAGE = 2;

/**
 * Runs `action`, prefixing a failure's message with `what` (e.g. `cannot publish /sax/test/lm`) and
 * keeping its code; `model` names the model concerned, for the hint.
 */
export async function attempt<T>(what: string, action: () => Promise<T>, model?: string): Promise<T> {
  try {
    return await action();
  } catch (err) {
    throw withContext(what, err, model);
  }
}

/**
 * Wraps an error with a description of what was being done; the code and model are kept. Usage and
 * configuration errors pass unchanged (they keep their exit status).
 */
export function withContext(what: string, err: unknown, model?: string): Error {
  if (err instanceof UsageError || err instanceof ConfigError) return err;
  const cause = toSaxError(err, "UNKNOWN");
  return new SaxError(cause.code, `${what}: ${cause.message}`, {
    model: cause.model ?? model,
    method: cause.method,
    cause,
  });
}

/** The exit status for an error thrown by a command. */
export function exitStatusOf(err: unknown): number {
  return err instanceof UsageError || err instanceof ConfigError ? EXIT_USAGE : EXIT_FAILURE;
}

/** What the failure report needs to know about the run. */
export interface FailureContext {
  readonly program: string;
  /** The subcommand that failed, if one was running. */
  readonly command: string | undefined;
  /** `--sax_timeout` in milliseconds. */
  readonly timeoutMs: number;
}

/** The one-line report of a failure (without the program prefix and newline). */
export function describeFailure(err: unknown, context: FailureContext): string {
  if (err instanceof UsageError) {
    const help = context.command ? `; see '${context.program} help ${context.command}'` : "";
    return `${context.command ? `${context.command}: ` : ""}${err.message}${help}`;
  }
  const sax = toSaxError(err, "UNKNOWN");
  if (sax.code === "DEADLINE_EXCEEDED") return describeTimeout(sax, context);
  const hint = hintFor(sax, context);
  return hint ? `${sax.message}; ${hint}` : sax.message;
}

/**
 * A deadline failure names the flag that sets the deadline; the client library's own wording (which
 * talks about `timeoutMs`) is replaced, keeping the last attempt's error when there was one.
 */
function describeTimeout(err: SaxError, context: FailureContext): string {
  const what = leadingContext(err);
  const last = lastAttemptError(err);
  const limit = formatGoDuration(context.timeoutMs);
  const retry = `${context.program} --sax_timeout=600s ${context.command ?? "<command>"} …`;
  return (
    `${what ? `${what}: ` : ""}not done within --sax_timeout=${limit}` +
    `${last ? ` (last error: ${last})` : ""}; give it longer, e.g. ${retry}`
  );
}

/** The part of a message added by {@link withContext} (before the first `: `), if any. */
function leadingContext(err: SaxError): string | undefined {
  return err.cause instanceof SaxError && err.message.endsWith(err.cause.message)
    ? err.message.slice(0, err.message.length - err.cause.message.length).replace(/: $/, "")
    : undefined;
}

/** The error of the last attempt before the deadline, as the client library records it. */
function lastAttemptError(err: SaxError): string | undefined {
  let current: unknown = err;
  while (current instanceof SaxError) {
    if (current.code !== "DEADLINE_EXCEEDED") return current.message;
    current = current.cause;
  }
  return undefined;
}

/** What to try next, for the codes where the message alone does not say. */
function hintFor(err: SaxError, context: FailureContext): string | undefined {
  const hints: Partial<Record<CodeName, string>> = {
    PERMISSION_DENIED: `'${context.program} getacl <cell or model id>' shows the ACLs in force`,
    UNAVAILABLE: "check that the cell's admin_server and model servers are running",
    FAILED_PRECONDITION: "check --sax_root (or SAX_ROOT) and that the cell's admin_server has started",
    NOT_FOUND: cellOf(err.model) && `'${context.program} ls ${cellOf(err.model)}' lists the published models`,
  };
  return hints[err.code] || undefined;
}

/** The cell id of a model id, if it has the form `/sax/<cell>/<model>`. */
function cellOf(modelId: string | undefined): string | undefined {
  return /^(\/sax\/[^/]+)\/[^/]+$/.exec(modelId ?? "")?.[1];
}
