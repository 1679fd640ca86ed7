/**
 * A closed-loop load generator: `concurrency` virtual users, each sending its next request as soon as
 * its previous one ended. Every user first sends one warm-up request (not recorded); once all warm-ups
 * ended, the measured phase starts for everyone at once and lasts `durationMs` (or until
 * `maxRequests` were started). Requests started inside the phase run to completion, and the phase's
 * elapsed time runs until the last one ended, so `count / elapsed` is the rate the server sustained.
 */

const MAX_FAILURE_MESSAGES = 5;

/** One level of closed-loop load. */
export interface ClosedLoopOptions<R> {
  /** Virtual users, each with one request in flight. */
  readonly concurrency: number;
  /** How long users keep starting requests, in ms. */
  readonly durationMs: number;
  /** Stop starting requests after this many, whatever the time. @default unlimited */
  readonly maxRequests?: number;
  /** Send one unrecorded request per user before measuring. @default true */
  readonly warmUp?: boolean;
  /** Stops starting requests (those in flight still end). */
  readonly signal?: AbortSignal;
  /** Sends request number `seq` (counted over all users) of user `user`; resolves with its record. */
  readonly send: (user: number, seq: number) => Promise<R>;
}

/** What one level measured. */
export interface ClosedLoopResult<R> {
  /** Records of the requests that succeeded, in completion order. */
  readonly records: R[];
  /** How many requests failed, warm-ups included. */
  readonly failures: number;
  /** The first few distinct failure messages. */
  readonly failureMessages: string[];
  /** Measured phase: from its start until the last request ended, in ms. */
  readonly elapsedMs: number;
}

/** Runs one level of closed-loop load; request failures are collected, never thrown. */
export async function runClosedLoop<R>(options: ClosedLoopOptions<R>): Promise<ClosedLoopResult<R>> {
  const { concurrency, durationMs, send, signal } = options;
  const maxRequests = options.maxRequests ?? Number.POSITIVE_INFINITY;
  const records: R[] = [];
  const failureMessages: string[] = [];
  let failures = 0;
  const attempt = async (user: number, seq: number, record: boolean) => {
    try {
      const result = await send(user, seq);
      if (record) records.push(result);
    } catch (err) {
      failures++;
      const message = err instanceof Error ? err.message : String(err);
      if (failureMessages.length < MAX_FAILURE_MESSAGES && !failureMessages.includes(message)) {
        failureMessages.push(message);
      }
    }
  };
  const users = Array.from({ length: concurrency }, (_, user) => user);
  if (options.warmUp ?? true) await Promise.all(users.map((user) => attempt(user, user, false)));
  let started = 0;
  const phaseStart = performance.now();
  const deadline = phaseStart + durationMs;
  const user = async (id: number) => {
    while (performance.now() < deadline && started < maxRequests && !signal?.aborted) {
      await attempt(id, started++, true);
    }
  };
  await Promise.all(users.map(user));
  return { records, failures, failureMessages, elapsedMs: performance.now() - phaseStart };
}
