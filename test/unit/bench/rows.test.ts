import { describe, expect, it } from "vitest";
import type { ClosedLoopResult } from "../../../bench/load-gen.js";
import { echoRow, servingRow } from "../../../bench/rows.js";
import type { StreamTiming } from "../../../bench/stream-timing.js";

const timing = (ttftMs: number, tpotMs: number | null, tokens: number): StreamTiming => ({
  ttftMs,
  tpotMs,
  tokens,
  steps: tokens,
  totalMs: ttftMs + (tpotMs ?? 0) * tokens,
});

describe("servingRow", () => {
  it("sums tokens over the measured phase and takes percentiles of the per-request timings", () => {
    const result: ClosedLoopResult<StreamTiming> = {
      records: [timing(10, 2, 32), timing(30, 4, 32), timing(20, null, 1)],
      failures: 1,
      failureMessages: ["RESOURCE_EXHAUSTED: queue full"],
      elapsedMs: 2000,
    };
    expect(servingRow(4, result)).toEqual({
      concurrency: 4,
      tokens_per_s: 32.5,
      requests_per_s: 1.5,
      ttft_ms: { p50: 20, p99: 30 },
      tpot_ms: { p50: 2, p99: 4 },
      requests: 3,
      tokens: 65,
      errors: 1,
      error_messages: ["RESOURCE_EXHAUSTED: queue full"],
      elapsed_s: 2,
    });
  });
});

describe("echoRow", () => {
  it("takes latency from the single client and the rate from the loaded level", () => {
    const single = { records: [0.5, 0.7, 0.6], failures: 0, failureMessages: [], elapsedMs: 3 };
    const loaded = {
      records: Array.from({ length: 100 }, () => 9),
      failures: 0,
      failureMessages: [],
      elapsedMs: 50,
    };
    expect(echoRow(single, loaded, 64)).toEqual({
      p50_ms: 0.6,
      p99_ms: 0.7,
      single_client_requests_per_s: 1000,
      requests_per_s: 2000,
      concurrency: 64,
      loaded_p50_ms: 9,
      errors: 0,
    });
  });
});
