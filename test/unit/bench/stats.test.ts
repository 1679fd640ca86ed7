import { describe, expect, it } from "vitest";
import { percentile, percentiles, ratePerSecond, round } from "../../../bench/stats.js";

describe("percentile", () => {
  it("takes the nearest rank of unsorted samples", () => {
    const samples = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(percentile(samples, 0.5)).toBe(5);
    expect(percentile(samples, 0.9)).toBe(9);
    expect(percentile(samples, 1)).toBe(10);
  });

  it("gives the maximum as p99 of fewer than 100 samples and the sample itself for one", () => {
    expect(percentile([3, 1, 2], 0.99)).toBe(3);
    expect(percentile([7], 0.5)).toBe(7);
  });

  it("is undefined for no samples and rejects a fraction outside (0, 1]", () => {
    expect(percentile([], 0.5)).toBeUndefined();
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 50)).toThrow("percentile fraction must be in (0, 1], got 50");
  });

  it("does not reorder the caller's array", () => {
    const samples = [3, 1, 2];
    percentile(samples, 0.5);
    expect(samples).toEqual([3, 1, 2]);
  });
});

describe("percentiles", () => {
  it("reports rounded p50 and p99, or nulls for no samples", () => {
    const samples = Array.from({ length: 200 }, (_, i) => (i + 1) / 3);
    expect(percentiles(samples)).toEqual({ p50: 33.33, p99: 66 });
    expect(percentiles([])).toEqual({ p50: null, p99: null });
  });
});

describe("rates and rounding", () => {
  it("divides a count by elapsed milliseconds, and gives 0 for no time", () => {
    expect(ratePerSecond(30, 1500)).toBe(20);
    expect(ratePerSecond(5, 0)).toBe(0);
    expect(round(1.23456, 3)).toBe(1.235);
  });
});
