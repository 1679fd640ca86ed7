/**
 * The lifecycle of a ModelWorker, as an explicit state union.
 *
 * ```text
 *   starting ──► loading ──► ready ──(process died)──► restarting ──(backoff)──► starting ─► …
 *      │            │          │                            │
 *      └────────────┴──► failed (first start failed, or N restarts in a row failed)
 *   any non-terminal state ──stop()──► draining ──► stopped
 * ```
 *
 * - `starting`: the process is being spawned and has not yet sent READY.
 * - `loading`: READY received, `load` sent, waiting for its result.
 * - `ready`: serving data calls.
 * - `restarting`: the process died; waiting out the backoff before starting a new one.
 * - `draining`: stop() was called; in-flight requests may finish, new ones are refused.
 * - `stopped`: the process is gone and its resources released (terminal).
 * - `failed`: the worker gave up; `reason` says why (terminal).
 */
import type { SaxError } from "../common/errors.js";

/** Every state of a ModelWorker, in lifecycle order. */
export const WORKER_STATES = [
  "starting",
  "loading",
  "ready",
  "restarting",
  "draining",
  "stopped",
  "failed",
] as const;

/** A ModelWorker lifecycle state. */
export type WorkerState = (typeof WORKER_STATES)[number];

/** One transition, as reported to `onStateChange`. */
export interface WorkerStateChange {
  readonly workerId: string;
  readonly state: WorkerState;
  readonly previous: WorkerState;
  /** Why: the death that caused `restarting`, the error that caused `failed`. */
  readonly reason?: SaxError | undefined;
}

/** Whether data calls are accepted in `state`. */
export function isServing(state: WorkerState): boolean {
  return state === "ready";
}

/** Whether `state` is final (no process, nothing will change any more). */
export function isTerminal(state: WorkerState): state is "stopped" | "failed" {
  return state === "stopped" || state === "failed";
}

/** Whether a process is being brought up (first start or restart). */
export function isStarting(state: WorkerState): state is "starting" | "loading" | "restarting" {
  return state === "starting" || state === "loading" || state === "restarting";
}
