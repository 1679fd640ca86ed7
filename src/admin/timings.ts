/**
 * The admin's clocks. Defaults are Saxml's; tests shorten them.
 */

/** Periods and deadlines of the admin's background work, in milliseconds. */
export interface AdminTimings {
  /** Period of the assignment refresh. @default 10000 */
  readonly refreshIntervalMs: number;
  /** Period of GetStatus polls of each joined model server. @default 10000 */
  readonly pollIntervalMs: number;
  /** Deadline of one GetStatus poll. @default 10000 */
  readonly pollTimeoutMs: number;
  /** A server whose last successful poll is older than this is pruned. @default 25000 */
  readonly pruneTimeoutMs: number;
  /** Budget for dialing a joining server and reading its first status. @default 10000 */
  readonly joinTimeoutMs: number;
  /** Deadline of a WakeUp call. @default 10000 */
  readonly wakeUpTimeoutMs: number;
}

/** Saxml's timings. */
export const DEFAULT_ADMIN_TIMINGS: AdminTimings = {
  refreshIntervalMs: 10_000,
  pollIntervalMs: 10_000,
  pollTimeoutMs: 10_000,
  pruneTimeoutMs: 25_000,
  joinTimeoutMs: 10_000,
  wakeUpTimeoutMs: 10_000,
};
