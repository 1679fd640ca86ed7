/**
 * Retry loops of the client (spec §10): exponential backoff with jitter, no attempt limit, bounded only
 * by the call's scope. Which codes retry is data: one set per kind of callee.
 *
 * Unlike Saxml's Go client, a loop cut short by the deadline fails with DEADLINE_EXCEEDED (naming the last
 * retriable error, kept as `cause`) rather than with that last error: the deadline is what ended the call.
 */
import { InvalidArgumentError, toSaxError, type CodeName, type SaxError } from "../common/errors.js";
import { ScopeEndedError, sleep, type CallScope } from "./call-scope.js";
import type { RetryPolicy } from "./types.js";

/** A {@link RetryPolicy} with every field set. */
export type ResolvedRetryPolicy = Required<RetryPolicy>;

/** Saxml's backoff: 10 ms growing by 1.1 per attempt up to 20 s, ±50 % jitter. */
export const DEFAULT_RETRY_POLICY: ResolvedRetryPolicy = {
  initialBackoffMs: 10,
  maxBackoffMs: 20_000,
  multiplier: 1.1,
  jitter: 0.5,
};

/** Fills defaults into `policy` and checks its ranges (INVALID_ARGUMENT). */
export function resolveRetryPolicy(policy: RetryPolicy = {}): ResolvedRetryPolicy {
  const resolved = { ...DEFAULT_RETRY_POLICY, ...stripUndefined(policy) };
  const { initialBackoffMs, maxBackoffMs, multiplier, jitter } = resolved;
  const check = (ok: boolean, field: string, rule: string, value: number) => {
    if (!ok) throw new InvalidArgumentError(`retry.${field} must be ${rule}, got ${value}`);
  };
  check(
    Number.isFinite(initialBackoffMs) && initialBackoffMs >= 0,
    "initialBackoffMs",
    "≥ 0",
    initialBackoffMs,
  );
  check(
    maxBackoffMs >= initialBackoffMs,
    "maxBackoffMs",
    `≥ initialBackoffMs (${initialBackoffMs})`,
    maxBackoffMs,
  );
  check(Number.isFinite(multiplier) && multiplier >= 1, "multiplier", "≥ 1", multiplier);
  check(jitter >= 0 && jitter <= 1, "jitter", "between 0 and 1", jitter);
  return resolved;
}

/**
 * The wait before retry number `attempt + 1` (attempt 0 is the first failure): the nominal wait
 * `min(maxBackoffMs, initialBackoffMs × multiplier^attempt)` spread uniformly by ±jitter.
 */
export function backoffMs(policy: ResolvedRetryPolicy, attempt: number, random: () => number = Math.random) {
  const nominal = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * policy.multiplier ** attempt);
  return nominal * (1 + policy.jitter * (2 * random() - 1));
}

/** Codes after which an admin RPC is tried again (the admin connection is re-resolved on UNAVAILABLE). */
export const ADMIN_RETRY_CODES: ReadonlySet<CodeName> = new Set<CodeName>([
  // The admin is down, restarting, or moved to another address: re-read location.proto and try again.
  "UNAVAILABLE",
  // The admin sheds load (or, in Saxml, another caller is dialing it): back off.
  "RESOURCE_EXHAUSTED",
]);

/** Codes after which a data call is tried again, possibly on another replica. */
export const DATA_RETRY_CODES: ReadonlySet<CodeName> = new Set<CodeName>([
  // The replica is gone or unreachable: it is dropped from the choice and another one is tried.
  "UNAVAILABLE",
  // The replica is overloaded: back off, maybe land on another one.
  "RESOURCE_EXHAUSTED",
  // The replica does not (yet) hold the model: it is still loading, or another replica has it.
  "NOT_FOUND",
]);

/** Whether `err` carries one of `codes`. */
export function hasCode(codes: ReadonlySet<CodeName>, err: SaxError): boolean {
  return codes.has(err.code);
}

/** How {@link withRetry} runs. */
export interface RetryLoopOptions {
  readonly scope: CallScope;
  readonly policy: ResolvedRetryPolicy;
  /** Whether a failed attempt may be tried again. */
  readonly shouldRetry: (err: SaxError) => boolean;
  /** Source of jitter, for tests. */
  readonly random?: () => number;
}

/**
 * Runs `attempt` until it succeeds, fails with an error `shouldRetry` rejects (returned as is), or the
 * scope ends: aborted or past its deadline during an attempt or a wait, or with a deadline the next wait
 * would overrun (then DEADLINE_EXCEEDED at once instead of sleeping in vain).
 */
export async function withRetry<T>(
  attempt: (attemptNumber: number) => Promise<T>,
  options: RetryLoopOptions,
): Promise<T> {
  const { scope, policy, shouldRetry, random } = options;
  let last: SaxError | undefined;
  for (let n = 0; ; n++) {
    if (scope.signal.aborted) throw scope.failure(last);
    try {
      return await Promise.race([attempt(n), scope.whenEnded()]);
    } catch (thrown) {
      if (thrown instanceof ScopeEndedError) throw scope.failure(last);
      const err = toSaxError(thrown, "UNKNOWN");
      // The scope's end reported by the attempt itself (gRPC's timer for the same deadline, say) fails
      // the call exactly as the scope's own timer does: naming the last retriable error, if there was one.
      if (scope.signal.aborted || scope.endedByDeadline(err)) throw scope.failure(last ?? err);
      if (!shouldRetry(err)) throw err;
      last = err;
    }
    const waitMs = backoffMs(policy, n, random);
    const remaining = scope.remainingMs();
    if (remaining !== undefined && waitMs >= remaining) {
      scope.expire();
      throw scope.failure(last);
    }
    if (!(await sleep(waitMs, scope.signal))) throw scope.failure(last);
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
