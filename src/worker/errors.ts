/**
 * Errors of the worker boundary. Error replies from a live worker become plain SaxErrors with the
 * worker's code; only the death of the process itself needs a type of its own, because callers treat
 * it differently (the request may be retried on the restarted worker or another replica).
 */
import { SaxError, type SaxErrorDetails } from "../common/errors.js";

/** How a worker process ended. */
export interface WorkerExit {
  /** Exit status, when it exited by itself. */
  readonly exitCode: number | undefined;
  /** Signal name, when a signal ended it (e.g. `SIGKILL`). */
  readonly signal: string | undefined;
  /** Why the process could not even be started (e.g. `spawn ... ENOENT`). */
  readonly spawnError?: string | undefined;
}

/** Fields of a WorkerDiedError. */
export interface WorkerDiedDetails extends SaxErrorDetails, WorkerExit {
  /** The worker's id, as passed with `--worker-id`. */
  readonly workerId: string;
  /** Process id, when it had one. */
  readonly pid: number | undefined;
  /** The last lines the worker wrote to stderr/stdout, oldest first. */
  readonly stderrTail: readonly string[];
  /** The worker's own last words, from a `fatal` message. */
  readonly fatalMessage?: string | undefined;
}

/** The worker process died; every request it had in flight fails with this. Code UNAVAILABLE. */
export class WorkerDiedError extends SaxError {
  override readonly name = "WorkerDiedError";
  readonly workerId: string;
  readonly pid: number | undefined;
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly stderrTail: readonly string[];
  readonly fatalMessage: string | undefined;

  constructor(details: WorkerDiedDetails) {
    super("UNAVAILABLE", describeDeath(details), details);
    this.workerId = details.workerId;
    this.pid = details.pid;
    this.exitCode = details.exitCode;
    this.signal = details.signal;
    this.stderrTail = details.stderrTail;
    this.fatalMessage = details.fatalMessage;
  }
}

function describeDeath(d: WorkerDiedDetails): string {
  const who = `worker ${d.workerId}${d.pid === undefined ? "" : ` (pid ${d.pid})`}`;
  let how: string;
  if (d.spawnError !== undefined) how = `could not be started: ${d.spawnError}`;
  else if (d.signal !== undefined) how = `was killed by ${d.signal}`;
  else how = `exited with code ${d.exitCode ?? "unknown"}`;
  const fatal = d.fatalMessage === undefined ? "" : `; it reported: ${d.fatalMessage}`;
  const tail = d.stderrTail.length ? `; last output: ${d.stderrTail.join(" | ")}` : "; no output";
  return `${who} ${how}${fatal}${tail}`;
}
