import { describe, expect, it } from "vitest";
import { SaxError } from "../../../src/common/errors.js";
import { CallScope, clientCloser } from "../../../src/client/call-scope.js";
import {
  ADMIN_RETRY_CODES,
  backoffMs,
  DATA_RETRY_CODES,
  DEFAULT_RETRY_POLICY,
  hasCode,
  resolveRetryPolicy,
  withRetry,
  type ResolvedRetryPolicy,
} from "../../../src/client/retry.js";
import type { CallOptions } from "../../../src/client/types.js";
import { causeCode, rejection } from "../../helpers/sax-error.js";

const FAST: ResolvedRetryPolicy = { initialBackoffMs: 5, maxBackoffMs: 20, multiplier: 2, jitter: 0.5 };
const never = new AbortController().signal;

/** Runs `attempt` in a retry loop retrying UNAVAILABLE, with `options` as the call's options. */
async function retrying<T>(
  attempt: (n: number) => Promise<T>,
  options: CallOptions = {},
  policy: ResolvedRetryPolicy = FAST,
) {
  const scope = new CallScope(options, never, "test call");
  try {
    return await withRetry(attempt, {
      scope,
      policy,
      shouldRetry: (err) => err.code === "UNAVAILABLE",
    });
  } finally {
    scope.close();
  }
}

const unavailable = () => Promise.reject(new SaxError("UNAVAILABLE", "replica gone"));

describe("backoff", () => {
  it("grows by the multiplier from the initial wait and stops at the maximum", () => {
    const middle = () => 0.5;
    expect([0, 1, 2, 3, 4].map((n) => backoffMs(FAST, n, middle))).toEqual([5, 10, 20, 20, 20]);
  });

  it("spreads each wait by ±jitter around the nominal wait", () => {
    expect(backoffMs(FAST, 1, () => 0)).toBe(5);
    expect(backoffMs(FAST, 1, () => 1)).toBe(15);
    for (let i = 0; i < 200; i++) {
      const wait = backoffMs(DEFAULT_RETRY_POLICY, 3);
      expect(wait).toBeGreaterThanOrEqual(0.5 * 10 * 1.1 ** 3);
      expect(wait).toBeLessThanOrEqual(1.5 * 10 * 1.1 ** 3);
    }
  });

  it("defaults to Saxml's policy and rejects out-of-range fields", () => {
    expect(resolveRetryPolicy()).toEqual({
      initialBackoffMs: 10,
      maxBackoffMs: 20_000,
      multiplier: 1.1,
      jitter: 0.5,
    });
    expect(resolveRetryPolicy({ jitter: 0 })).toMatchObject({ jitter: 0, multiplier: 1.1 });
    expect(() => resolveRetryPolicy({ jitter: 2 })).toThrow(/retry.jitter must be between 0 and 1/);
    expect(() => resolveRetryPolicy({ multiplier: 0.5 })).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }),
    );
    expect(() => resolveRetryPolicy({ initialBackoffMs: 100, maxBackoffMs: 10 })).toThrow(/maxBackoffMs/);
  });
});

describe("which codes retry", () => {
  it("retries UNAVAILABLE and RESOURCE_EXHAUSTED for the admin, and NOT_FOUND too for data calls", () => {
    const codes = [
      "UNAVAILABLE",
      "RESOURCE_EXHAUSTED",
      "NOT_FOUND",
      "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED",
    ] as const;
    const retried = (set: ReadonlySet<string>) =>
      codes.filter((code) => hasCode(set as never, new SaxError(code, "x")));
    expect(retried(ADMIN_RETRY_CODES)).toEqual(["UNAVAILABLE", "RESOURCE_EXHAUSTED"]);
    expect(retried(DATA_RETRY_CODES)).toEqual(["UNAVAILABLE", "RESOURCE_EXHAUSTED", "NOT_FOUND"]);
  });
});

describe("withRetry", () => {
  it("retries a retriable failure until the attempt succeeds", async () => {
    const result = await retrying((n) => (n < 3 ? unavailable() : Promise.resolve(`ok after ${n}`)));
    expect(result).toBe("ok after 3");
  });

  it("returns a non-retriable error at once, as it is", async () => {
    let attempts = 0;
    const failure = retrying(() => {
      attempts += 1;
      return Promise.reject(new SaxError("INVALID_ARGUMENT", "bad request"));
    });
    await expect(failure).rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: "bad request" });
    expect(attempts).toBe(1);
  });

  it("fails with DEADLINE_EXCEEDED naming the last error once the deadline ends the retries", async () => {
    const started = Date.now();
    const err = await rejection(retrying(unavailable, { timeoutMs: 150 }));
    expect(err.code).toBe("DEADLINE_EXCEEDED");
    expect(err.message).toMatch(/test call did not complete within timeoutMs=150; last error: replica gone/);
    expect(causeCode(err)).toBe("UNAVAILABLE");
    expect(Date.now() - started).toBeLessThan(150 + 100);
  });

  it("does not sleep past the deadline: fails at once when the next wait would end after it", async () => {
    const slow = { ...FAST, initialBackoffMs: 5_000, maxBackoffMs: 5_000 };
    const started = Date.now();
    await expect(retrying(unavailable, { timeoutMs: 1_000 }, slow)).rejects.toMatchObject({
      code: "DEADLINE_EXCEEDED",
    });
    expect(Date.now() - started).toBeLessThan(200);
  });

  it("fails with DEADLINE_EXCEEDED when the deadline passes during an attempt", async () => {
    const hang = () => new Promise<never>(() => undefined);
    await expect(retrying(hang, { timeoutMs: 50 })).rejects.toMatchObject({ code: "DEADLINE_EXCEEDED" });
  });

  it("reports gRPC's own deadline error at the scope's deadline as the scope's DEADLINE_EXCEEDED", async () => {
    // gRPC's timer for the same deadline may fire before the scope's: the call must fail the same way.
    // The fake call's timer is due 1 ms before the scope's deadline, so it fires first however late the
    // event loop gets to either.
    const scope = new CallScope({ timeoutMs: 50 }, never, "test call");
    const grpcDeadline = () =>
      new Promise<never>((_, reject) => {
        const dueInMs = (scope.deadlineMs ?? 0) - 1 - Date.now();
        setTimeout(
          () => reject(new SaxError("DEADLINE_EXCEEDED", "Deadline exceeded after 0.049s")),
          dueInMs,
        );
      });
    const shouldRetry = (e: SaxError) => e.code === "UNAVAILABLE";
    const err = await rejection(
      withRetry(grpcDeadline, { scope, policy: FAST, shouldRetry }).finally(() => scope.close()),
    );
    expect(err.code).toBe("DEADLINE_EXCEEDED");
    expect(err.message).toMatch(
      /^test call did not complete within timeoutMs=50; last error: Deadline exceeded/,
    );
  });

  it("names the last retriable error when gRPC's deadline error ends a later attempt", async () => {
    // As when the scope's own timer ends the loop: the deadline is the code, the replica's error the cause.
    const scope = new CallScope({ timeoutMs: 50 }, never, "test call");
    const attempt = (n: number) =>
      n === 0
        ? Promise.reject(new SaxError("UNAVAILABLE", "replica gone"))
        : new Promise<never>((_, reject) => {
            const dueInMs = (scope.deadlineMs ?? 0) - 1 - Date.now();
            setTimeout(() => reject(new SaxError("DEADLINE_EXCEEDED", "Deadline exceeded")), dueInMs);
          });
    const shouldRetry = (e: SaxError) => e.code === "UNAVAILABLE";
    const err = await rejection(
      withRetry(attempt, { scope, policy: FAST, shouldRetry }).finally(() => scope.close()),
    );
    expect(err.code).toBe("DEADLINE_EXCEEDED");
    expect(err.message).toMatch(/^test call did not complete within timeoutMs=50; last error: replica gone/);
    expect(causeCode(err)).toBe("UNAVAILABLE");
  });

  it("returns a server's DEADLINE_EXCEEDED well before the deadline as it is", async () => {
    const serverDeadline = () => Promise.reject(new SaxError("DEADLINE_EXCEEDED", "inner call timed out"));
    const err = await rejection(retrying(serverDeadline, { timeoutMs: 5_000 }));
    expect(err.message).toBe("inner call timed out");
  });

  it("stops with CANCELLED when the caller aborts between attempts", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const err = await rejection(retrying(unavailable, { signal: controller.signal }));
    expect(err.code).toBe("CANCELLED");
    expect(err.message).toMatch(/test call was cancelled by the caller/);
  });

  it("fails with the caller's abort reason when it is a SaxError", async () => {
    const reason = new SaxError("CANCELLED", "user pressed ^C");
    await expect(retrying(unavailable, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });

  it("rejects a negative timeout", () => {
    expect(() => new CallScope({ timeoutMs: -1 }, never, "x")).toThrow(/timeoutMs must be a non-negative/);
  });
});

describe("clientCloser", () => {
  it("lets any number of calls listen on the client's close signal without a leak warning", async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    try {
      const closer = clientCloser();
      const scopes = Array.from({ length: 64 }, (_, i) => new CallScope({}, closer.signal, `call ${i}`));
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on a later tick
      expect(warnings.map((w) => w.name)).not.toContain("MaxListenersExceededWarning");
      closer.abort();
      expect(scopes.every((scope) => scope.signal.aborted)).toBe(true);
    } finally {
      process.off("warning", onWarning);
    }
  });
});
