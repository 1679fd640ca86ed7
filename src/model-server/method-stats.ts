/**
 * Per-method request statistics reported in GetStatus: success and error rates and latency percentiles of
 * successes over a sliding window, the last batch sizes, and the requests in flight.
 */
import type { GetStatusResponse_MethodStats } from "../gen/sax/modelet.js";

/** Length of the rate window (Saxml: 60 s). */
export const STATS_WINDOW_MS = 60_000;
const RECENT_BATCHES = 10;

interface Sample {
  readonly atMs: number;
  readonly ok: boolean;
  readonly latencyS: number;
}

/** Statistics of one data method of one model. */
export class MethodStats {
  private samples: Sample[] = [];
  private readonly batchSizes: number[] = [];
  private pending = 0;

  constructor(
    readonly method: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Marks a request started; call the returned function once with its outcome. */
  begin(): (ok: boolean) => void {
    const startedMs = this.now();
    this.pending += 1;
    let done = false;
    return (ok) => {
      if (done) return;
      done = true;
      this.pending -= 1;
      this.samples.push({ atMs: this.now(), ok, latencyS: (this.now() - startedMs) / 1000 });
    };
  }

  /** Records the size of a batch the servable ran. */
  recordBatch(size: number): void {
    this.batchSizes.push(size);
    if (this.batchSizes.length > RECENT_BATCHES) this.batchSizes.shift();
  }

  /** The GetStatus view of these statistics. */
  snapshot(): GetStatusResponse_MethodStats {
    const cutoff = this.now() - STATS_WINDOW_MS;
    this.samples = this.samples.filter((s) => s.atMs >= cutoff);
    const windowS = STATS_WINDOW_MS / 1000;
    const latencies = this.samples.filter((s) => s.ok).map((s) => s.latencyS);
    latencies.sort((a, b) => a - b);
    const stats: GetStatusResponse_MethodStats = {
      method: this.method,
      errorsPerSecond: (this.samples.length - latencies.length) / windowS,
      successesPerSecond: latencies.length / windowS,
      recentBatchSizes: [...this.batchSizes],
      pendingReqs: this.pending,
    };
    if (latencies.length === 0) return stats;
    const at = (q: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
    return {
      ...stats,
      meanLatencyOnSuccessPerSecond: latencies.reduce((a, b) => a + b, 0) / latencies.length,
      p50LatencyOnSuccessPerSecond: at(0.5),
      p95LatencyOnSuccessPerSecond: at(0.95),
      p99LatencyOnSuccessPerSecond: at(0.99),
    };
  }
}
