/**
 * The performance targets of issue 6, checked against one run: throughput at 32 streams against both
 * baselines, per-token latency at one stream against the in-process decode step, and echo's latency and
 * rate through the whole stack. A target whose inputs are missing is reported unmet, with the reason.
 */
import { isBaselineReport, perTokenTime, type BaselineResult } from "./baselines.js";
import type { EchoRow, ServingRow } from "./rows.js";
import { round } from "./stats.js";

/** One checked target. */
export interface TargetCheck {
  readonly description: string;
  /** The measured value (a ratio or a figure), or null when it could not be measured. */
  readonly measured: number | null;
  readonly comparison: ">=" | "<=";
  readonly target: number;
  readonly met: boolean;
  /** How the value was obtained, or why it is missing. */
  readonly note?: string;
}

/** What the targets are checked against. */
export interface TargetInputs {
  readonly rows: readonly ServingRow[];
  readonly baselines: { readonly inprocess_jax: BaselineResult; readonly hf_transformers: BaselineResult };
  readonly echo: EchoRow | { readonly error: string };
}

/** The concurrency the throughput targets are stated at. */
export const TARGET_CONCURRENCY = 32;

/** Issue 6's thresholds. */
export const TARGETS = {
  /** Tokens/s at 32 streams over the in-process JAX baseline's, at least. */
  inprocessThroughputRatio: 10,
  /** Tokens/s at 32 streams over the HF transformers baseline's, at least. */
  hfThroughputRatio: 3,
  /** p50 TPOT at one stream over the in-process per-token time, at most. */
  tpotRatio: 1.1,
  /** Echo p50 latency at one client, at most (ms). */
  echoP50Ms: 1,
  /** Echo requests/s at 64 clients, at least. */
  echoRequestsPerS: 5000,
} as const;

function check(
  description: string,
  comparison: ">=" | "<=",
  target: number,
  measured: number | null,
  note?: string,
): TargetCheck {
  const value = measured === null || !Number.isFinite(measured) ? null : round(measured, 3);
  const met = value !== null && (comparison === ">=" ? value >= target : value <= target);
  return { description, measured: value, comparison, target, met, ...(note ? { note } : {}) };
}

function throughputRatio(
  row: ServingRow | undefined,
  baseline: BaselineResult,
  name: string,
  target: number,
): TargetCheck {
  const description = `tokens/s at ${TARGET_CONCURRENCY} streams ÷ ${name} tokens/s`;
  if (!row) return check(description, ">=", target, null, `no row at concurrency ${TARGET_CONCURRENCY}`);
  if (!isBaselineReport(baseline))
    return check(description, ">=", target, null, `${name}: ${baseline.error}`);
  return check(
    description,
    ">=",
    target,
    row.tokens_per_s / baseline.tokens_per_s,
    `${row.tokens_per_s} vs ${baseline.tokens_per_s} tokens/s`,
  );
}

function perTokenLatency(row: ServingRow | undefined, baseline: BaselineResult): TargetCheck {
  const description = "p50 TPOT at 1 stream ÷ in-process per-token time";
  if (!row || row.tpot_ms.p50 === null)
    return check(description, "<=", TARGETS.tpotRatio, null, "no TPOT at concurrency 1");
  if (!isBaselineReport(baseline))
    return check(description, "<=", TARGETS.tpotRatio, null, `in-process: ${baseline.error}`);
  const { ms, basis } = perTokenTime(baseline);
  const note = `${row.tpot_ms.p50} ms vs ${round(ms, 3)} ms (${basis})`;
  return check(description, "<=", TARGETS.tpotRatio, row.tpot_ms.p50 / ms, note);
}

/** Issue 11's thresholds against the peers measured in the same run. */
export const PEER_TARGETS = {
  /** Tokens/s at 1 stream over llama-server's at 1, at least. */
  llamaServerC1Ratio: 1,
  /** Tokens/s at 32 streams over llama-server's at 32, at least. */
  llamaServerC32Ratio: 1.2,
  /** Tokens/s at 1 stream over the memory-bandwidth limit, at least. */
  bandwidthFraction: 0.7,
} as const;

/** What the peer targets are checked against. */
export interface PeerTargetInputs {
  readonly rows: readonly ServingRow[];
  readonly llamaServerRows: readonly ServingRow[] | { readonly error: string };
  readonly limitTokensPerS: number | { readonly error: string };
}

function againstLlamaServer(inputs: PeerTargetInputs, concurrency: number, target: number): TargetCheck {
  const description = `tokens/s at ${concurrency} stream(s) ÷ llama-server's`;
  const ours = inputs.rows.find((row) => row.concurrency === concurrency);
  if (!ours) return check(description, ">=", target, null, `no cell row at concurrency ${concurrency}`);
  if ("error" in inputs.llamaServerRows)
    return check(description, ">=", target, null, `llama-server: ${inputs.llamaServerRows.error}`);
  const theirs = inputs.llamaServerRows.find((row) => row.concurrency === concurrency);
  if (!theirs || theirs.tokens_per_s <= 0)
    return check(description, ">=", target, null, `no llama-server row at concurrency ${concurrency}`);
  const note = `${ours.tokens_per_s} vs ${theirs.tokens_per_s} tokens/s`;
  return check(description, ">=", target, ours.tokens_per_s / theirs.tokens_per_s, note);
}

/** Issue 11's targets, by key. */
export function evaluatePeerTargets(inputs: PeerTargetInputs): Record<string, TargetCheck> {
  const single = inputs.rows.find((row) => row.concurrency === 1);
  const limit = inputs.limitTokensPerS;
  const bandwidthDescription = "tokens/s at 1 stream ÷ the memory-bandwidth limit";
  return {
    c1_vs_llama_server: againstLlamaServer(inputs, 1, PEER_TARGETS.llamaServerC1Ratio),
    c32_vs_llama_server: againstLlamaServer(inputs, TARGET_CONCURRENCY, PEER_TARGETS.llamaServerC32Ratio),
    c1_vs_bandwidth_limit:
      typeof limit !== "number"
        ? check(bandwidthDescription, ">=", PEER_TARGETS.bandwidthFraction, null, `bandwidth: ${limit.error}`)
        : check(
            bandwidthDescription,
            ">=",
            PEER_TARGETS.bandwidthFraction,
            single ? single.tokens_per_s / limit : null,
            single ? `${single.tokens_per_s} vs ${limit} tokens/s` : "no cell row at concurrency 1",
          ),
  };
}

/** Every target of issue 6, by key. */
export function evaluateTargets(inputs: TargetInputs): Record<string, TargetCheck> {
  const at = (concurrency: number) => inputs.rows.find((row) => row.concurrency === concurrency);
  const echo = "error" in inputs.echo ? undefined : inputs.echo;
  const echoNote = "error" in inputs.echo ? `echo: ${inputs.echo.error}` : undefined;
  return {
    throughput_vs_inprocess_jax: throughputRatio(
      at(TARGET_CONCURRENCY),
      inputs.baselines.inprocess_jax,
      "in-process JAX",
      TARGETS.inprocessThroughputRatio,
    ),
    throughput_vs_hf_transformers: throughputRatio(
      at(TARGET_CONCURRENCY),
      inputs.baselines.hf_transformers,
      "HF transformers",
      TARGETS.hfThroughputRatio,
    ),
    tpot_c1_vs_inprocess_step: perTokenLatency(at(1), inputs.baselines.inprocess_jax),
    echo_p50_ms: check(
      "echo lm.generate p50 latency at 1 client (ms)",
      "<=",
      TARGETS.echoP50Ms,
      echo?.p50_ms ?? null,
      echoNote,
    ),
    echo_requests_per_s: check(
      `echo lm.generate requests/s at ${echo?.concurrency ?? 64} clients`,
      ">=",
      TARGETS.echoRequestsPerS,
      echo?.requests_per_s ?? null,
      echoNote,
    ),
  };
}
