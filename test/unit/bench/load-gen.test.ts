import { describe, expect, it } from "vitest";
import { runClosedLoop } from "../../../bench/load-gen.js";

const HOUR_MS = 3_600_000;

describe("runClosedLoop", () => {
  it("sends one unrecorded warm-up per user, then records requests up to the cap", async () => {
    const sent: [number, number][] = [];
    const result = await runClosedLoop({
      concurrency: 3,
      durationMs: HOUR_MS,
      maxRequests: 7,
      send: async (user, seq) => {
        sent.push([user, seq]);
        await Promise.resolve();
        return seq;
      },
    });
    expect(sent.slice(0, 3)).toEqual([
      [0, 0],
      [1, 1],
      [2, 2],
    ]);
    expect(sent).toHaveLength(10);
    expect([...result.records].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(result.failures).toBe(0);
  });

  it("counts failures and keeps the first distinct messages without throwing", async () => {
    const result = await runClosedLoop({
      concurrency: 2,
      durationMs: HOUR_MS,
      maxRequests: 4,
      warmUp: false,
      send: (_user, seq) => Promise.reject(new Error(seq % 2 === 0 ? "even" : "odd")),
    });
    expect(result.records).toEqual([]);
    expect(result.failures).toBe(4);
    expect([...result.failureMessages].sort()).toEqual(["even", "odd"]);
  });

  it("starts nothing once the signal is aborted", async () => {
    const controller = new AbortController();
    controller.abort();
    const result = await runClosedLoop({
      concurrency: 4,
      durationMs: HOUR_MS,
      warmUp: false,
      signal: controller.signal,
      send: () => Promise.resolve(1),
    });
    expect(result.records).toEqual([]);
  });
});
