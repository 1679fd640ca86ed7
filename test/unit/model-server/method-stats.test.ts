import { describe, expect, it } from "vitest";
import { MethodStats, STATS_WINDOW_MS } from "../../../src/model-server/method-stats.js";

const clock = () => {
  let nowMs = 1_000_000;
  return { now: () => nowMs, advance: (ms: number) => (nowMs += ms) };
};

describe("MethodStats", () => {
  it("counts successes and errors per second over the window and their latencies", () => {
    const c = clock();
    const stats = new MethodStats("lm.generate", c.now);
    for (const [ms, ok] of [
      [100, true],
      [300, true],
      [50, false],
    ] as const) {
      const done = stats.begin();
      c.advance(ms);
      done(ok);
    }
    const s = stats.snapshot();
    expect(s.successesPerSecond).toBeCloseTo(2 / 60);
    expect(s.errorsPerSecond).toBeCloseTo(1 / 60);
    expect(s.meanLatencyOnSuccessPerSecond).toBeCloseTo(0.2);
    expect([s.p50LatencyOnSuccessPerSecond, s.p99LatencyOnSuccessPerSecond]).toEqual([0.3, 0.3]);
  });

  it("forgets requests older than the window and leaves latencies unset without successes", () => {
    const c = clock();
    const stats = new MethodStats("lm.score", c.now);
    stats.begin()(true);
    c.advance(STATS_WINDOW_MS + 1);
    const s = stats.snapshot();
    expect(s.successesPerSecond).toBe(0);
    expect(s.meanLatencyOnSuccessPerSecond).toBeUndefined();
  });

  it("counts requests in flight once, however often they finish", () => {
    const stats = new MethodStats("lm.generate");
    const done = stats.begin();
    stats.begin();
    expect(stats.snapshot().pendingReqs).toBe(2);
    done(true);
    done(true);
    expect(stats.snapshot().pendingReqs).toBe(1);
  });

  it("keeps the last ten batch sizes", () => {
    const stats = new MethodStats("lm.generate");
    for (let i = 1; i <= 12; i++) stats.recordBatch(i);
    expect(stats.snapshot().recentBatchSizes).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });
});
