/** Summary statistics of benchmark samples: nearest-rank percentiles and rounding for reports. */

/** p50 and p99 of a sample set; null when there were no samples. */
export interface Percentiles {
  readonly p50: number | null;
  readonly p99: number | null;
}

/**
 * The nearest-rank percentile of `samples` (unsorted) for a fraction `p` in (0, 1]: the smallest sample
 * that at least `p` of all samples are less than or equal to. Undefined for an empty set. With fewer
 * than 100 samples, p99 is the maximum.
 */
export function percentile(samples: readonly number[], p: number): number | undefined {
  if (!(p > 0 && p <= 1)) throw new RangeError(`percentile fraction must be in (0, 1], got ${p}`);
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil(p * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** p50 and p99 of `samples`, rounded for a report. */
export function percentiles(samples: readonly number[], digits = 2): Percentiles {
  const at = (p: number) => {
    const value = percentile(samples, p);
    return value === undefined ? null : round(value, digits);
  };
  return { p50: at(0.5), p99: at(0.99) };
}

/** `x` rounded to `digits` decimals (half away from zero is not needed here: ties are rare in timings). */
export function round(x: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(x * scale) / scale;
}

/** `count / seconds`, rounded; 0 when no time passed. */
export function ratePerSecond(count: number, elapsedMs: number, digits = 2): number {
  return elapsedMs > 0 ? round((count * 1000) / elapsedMs, digits) : 0;
}
