import { describe, expect, it } from "vitest";
import type { BaselineResult } from "../../../bench/baselines.js";
import type { EchoRow, ServingRow } from "../../../bench/rows.js";
import { evaluatePeerTargets, evaluateTargets } from "../../../bench/targets.js";

function row(concurrency: number, tokensPerS: number, tpotP50: number | null): ServingRow {
  return {
    concurrency,
    tokens_per_s: tokensPerS,
    requests_per_s: tokensPerS / 32,
    ttft_ms: { p50: 10, p99: 20 },
    tpot_ms: { p50: tpotP50, p99: tpotP50 },
    requests: 10,
    tokens: 320,
    errors: 0,
    elapsed_s: 1,
  };
}

const ECHO: EchoRow = {
  p50_ms: 0.8,
  p99_ms: 2,
  single_client_requests_per_s: 1000,
  requests_per_s: 4000,
  concurrency: 64,
  loaded_p50_ms: 15,
  errors: 0,
};
const jax = (tokensPerS: number, perTokenMs: number): BaselineResult => ({
  mode: "jax",
  tokens_per_s: tokensPerS,
  requests: 4,
  tokens: 128,
  elapsed_s: 1,
  per_token_ms: perTokenMs,
});

describe("evaluateTargets", () => {
  it("checks each target against its threshold with the measured value", () => {
    const targets = evaluateTargets({
      rows: [row(1, 300, 2.2), row(32, 5000, 5)],
      baselines: { inprocess_jax: jax(400, 2.5), hf_transformers: jax(2000, 0.5) },
      echo: ECHO,
    });
    expect(targets.throughput_vs_inprocess_jax).toMatchObject({ measured: 12.5, target: 10, met: true });
    expect(targets.throughput_vs_hf_transformers).toMatchObject({ measured: 2.5, target: 3, met: false });
    expect(targets.tpot_c1_vs_inprocess_step).toMatchObject({ measured: 0.88, comparison: "<=", met: true });
    expect(targets.echo_p50_ms).toMatchObject({ measured: 0.8, met: true });
    expect(targets.echo_requests_per_s).toMatchObject({ measured: 4000, target: 5000, met: false });
  });

  it("reports a target unmet with the reason when its inputs are missing", () => {
    const targets = evaluateTargets({
      rows: [row(1, 300, null)],
      baselines: { inprocess_jax: { error: "script missing" }, hf_transformers: jax(10, 1) },
      echo: { error: "echo failed to load" },
    });
    expect(targets.throughput_vs_inprocess_jax).toMatchObject({
      measured: null,
      met: false,
      note: "no row at concurrency 32",
    });
    expect(targets.tpot_c1_vs_inprocess_step).toMatchObject({ met: false, note: "no TPOT at concurrency 1" });
    expect(targets.echo_p50_ms).toMatchObject({
      measured: null,
      met: false,
      note: "echo: echo failed to load",
    });
  });

  it("names the failed baseline in the note", () => {
    const targets = evaluateTargets({
      rows: [row(1, 300, 2), row(32, 5000, 5)],
      baselines: { inprocess_jax: { error: "script missing" }, hf_transformers: jax(10, 1) },
      echo: ECHO,
    });
    expect(targets.throughput_vs_inprocess_jax?.note).toBe("in-process JAX: script missing");
    expect(targets.tpot_c1_vs_inprocess_step?.note).toBe("in-process: script missing");
  });
});

describe("evaluatePeerTargets", () => {
  it("compares the cell with llama-server at 1 and 32 streams and with the bandwidth limit", () => {
    const targets = evaluatePeerTargets({
      rows: [row(1, 120, 8), row(32, 700, 40)],
      llamaServerRows: [row(1, 150, 6), row(32, 560, 50)],
      limitTokensPerS: 150,
    });
    expect(targets.c1_vs_llama_server).toMatchObject({ measured: 0.8, target: 1, met: false });
    expect(targets.c32_vs_llama_server).toMatchObject({ measured: 1.25, target: 1.2, met: true });
    expect(targets.c1_vs_bandwidth_limit).toMatchObject({ measured: 0.8, target: 0.7, met: true });
  });

  it("reports a peer that did not run as unmet, with its reason", () => {
    const targets = evaluatePeerTargets({
      rows: [row(1, 120, 8)],
      llamaServerRows: { error: "scripts/build-llama-server failed (exit 3): no cmake" },
      limitTokensPerS: { error: "bench_bandwidth ran out of time" },
    });
    expect(targets.c1_vs_llama_server).toMatchObject({ measured: null, met: false });
    expect(targets.c1_vs_llama_server?.note).toContain("no cmake");
    expect(targets.c32_vs_llama_server?.note).toContain("no cell row at concurrency 32");
    expect(targets.c1_vs_bandwidth_limit?.note).toBe("bandwidth: bench_bandwidth ran out of time");
  });
});
