/**
 * `npm run bench -- --peers`: what a user would serve the same model with instead, measured in the same
 * run as the cell, one after another so that nothing shares the cores:
 *
 *   - llama.cpp's `llama-server` (built by scripts/build-llama-server from the llama-cpp-python source
 *     distribution, the weights exported to GGUF f32 by sax_worker.bench_peers), driven by the same
 *     closed loop as the cell at each concurrency, with `-np` = concurrency (bench/llama-server.ts);
 *   - Hugging Face `generate` on the same weights with a static batch of each concurrency (an offline
 *     reference: every row of a batch starts and ends together);
 *   - the memory-bandwidth limit of batch-1 decoding (sax_worker.bench_bandwidth).
 *
 * A peer that cannot run (no compiler, a failed build or export, a crash) becomes `{ error }` with the
 * reason, never a missing entry.
 */
import { readFile } from "node:fs/promises";
import { cpus } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { z } from "zod";
import type { LmServableConfig } from "../src/registry/index.js";
import { PYTHON_RUNTIME_DIR } from "../src/worker/model-worker-options.js";
import { isBaselineReport, runBaseline, withBenchFiles, type BaselineReport } from "./baselines.js";
import type { Say } from "./levels.js";
import { runLlamaServerPeer } from "./llama-server.js";
import { SEED, type ResolvedBenchPlan } from "./plan.js";
import type { ServingRow } from "./rows.js";

const PYTHON = join(PYTHON_RUNTIME_DIR, ".venv/bin/python");
const BUILD_SCRIPT = new URL("../scripts/build-llama-server", import.meta.url).pathname;
/** Building llama-server from source takes minutes on two cores; a cached build, a second. */
const BUILD_TIMEOUT_MS = 30 * 60_000;
const EXPORT_TIMEOUT_MS = 10 * 60_000;
const BANDWIDTH_TIMEOUT_MS = 120_000;

/** A peer's outcome: its figures, or why there are none. */
export type PeerOutcome<T> = T | PeerError;

/** Why a peer has no figures. */
export interface PeerError {
  readonly error: string;
}

/** Whether a peer's outcome is its error (figures never carry a string `error`). */
export function isPeerError<T>(outcome: PeerOutcome<T>): outcome is PeerError {
  return typeof (outcome as { error?: unknown }).error === "string";
}

/** The batch-1 decode bound of sax_worker.bench_bandwidth. */
export const bandwidthSchema = z.looseObject({
  /** Over a buffer of the step's weight bytes, read again and again: where a step's weights live. */
  read_gb_per_s: z.number().positive(),
  /** Over a buffer far larger than the caches: main memory, for reference. */
  read_gb_per_s_large: z.number().positive(),
  bytes_per_step: z.number().int().positive(),
  parameters: z.number().int().positive(),
  limit_tokens_per_s: z.number().positive(),
});

/** The batch-1 decode bound. */
export type Bandwidth = z.infer<typeof bandwidthSchema>;

/** HF generate with a static batch of one concurrency level. */
export interface HfBatchRow extends BaselineReport {
  readonly concurrency: number;
}

/** Everything `--peers` measured. */
export interface PeersResult {
  readonly llama_server: PeerOutcome<{ readonly rows: readonly ServingRow[]; readonly binary: string }>;
  readonly hf_static_batch: PeerOutcome<{ readonly rows: readonly HfBatchRow[] }>;
  readonly bandwidth: PeerOutcome<Bandwidth>;
}

const exportSchema = z.looseObject({ gguf: z.string(), prompt_ids: z.string() });

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** The last line of a failed command's stderr, which the scripts keep to one sentence. */
function failure(
  what: string,
  result: { stderr: string; exitCode?: number | undefined; timedOut?: boolean },
) {
  const last = result.stderr.trim().split("\n").at(-1) ?? "";
  return result.timedOut
    ? `${what} ran out of time`
    : `${what} failed (exit ${result.exitCode ?? "?"}): ${last}`;
}

/** Runs every peer on the plan's model and prompts, in turn. */
export function runPeers(plan: ResolvedBenchPlan, config: LmServableConfig, say: Say): Promise<PeersResult> {
  return withBenchFiles(config, plan.prompts, async ({ configPath, promptsPath }) => {
    say("peer: memory-bandwidth limit…");
    const bandwidth = await measureBandwidth(configPath);
    say("peer: Hugging Face generate, static batches…");
    const hfStaticBatch = await hfStaticBatches(plan, configPath, promptsPath, say);
    say("peer: llama.cpp llama-server (building it on the first run takes minutes)…");
    const llamaServer = await llamaServerPeer(plan, configPath, promptsPath, say).catch((err: unknown) => ({
      error: messageOf(err),
    }));
    return { llama_server: llamaServer, hf_static_batch: hfStaticBatch, bandwidth };
  });
}

async function measureBandwidth(configPath: string): Promise<PeerOutcome<Bandwidth>> {
  const result = await execa(PYTHON, ["-m", "sax_worker.bench_bandwidth", "--config", configPath], {
    cwd: PYTHON_RUNTIME_DIR,
    reject: false,
    timeout: BANDWIDTH_TIMEOUT_MS,
  });
  if (result.exitCode !== 0) return { error: failure("bench_bandwidth", result) };
  const parsed = bandwidthSchema.safeParse(JSON.parse(result.stdout));
  return parsed.success ? parsed.data : { error: `bench_bandwidth printed ${result.stdout.slice(0, 200)}` };
}

async function hfStaticBatches(
  plan: ResolvedBenchPlan,
  configPath: string,
  promptsPath: string,
  say: Say,
): Promise<PeerOutcome<{ rows: HfBatchRow[] }>> {
  const rows: HfBatchRow[] = [];
  for (const concurrency of plan.levels) {
    const report = await runBaseline("hf_transformers", {
      configPath,
      promptsPath,
      seed: SEED,
      maxNewTokens: plan.maxNewTokens,
      durationS: plan.baselineDurationS,
      timeoutMs: plan.baselineTimeoutMs,
      batch: concurrency,
    });
    if (!isBaselineReport(report)) return { error: `batch ${concurrency}: ${report.error}` };
    say(`  batch ${concurrency}: ${report.tokens_per_s} tokens/s`);
    rows.push({ ...report, concurrency });
  }
  return { rows };
}

async function llamaServerPeer(
  plan: ResolvedBenchPlan,
  configPath: string,
  promptsPath: string,
  say: Say,
): Promise<PeerOutcome<{ rows: ServingRow[]; binary: string }>> {
  const build = await execa(BUILD_SCRIPT, [], { reject: false, timeout: BUILD_TIMEOUT_MS });
  if (build.exitCode !== 0) return { error: failure("scripts/build-llama-server", build) };
  const binary = build.stdout.trim().split("\n").at(-1) ?? "";
  const exportDir = join(PYTHON_RUNTIME_DIR, "..", ".tools", "bench-peers");
  const exported = await execa(
    PYTHON,
    [
      ...["-m", "sax_worker.bench_peers", "export", "--config", configPath, "--seed", String(SEED)],
      ...["--prompts", promptsPath, "--out", exportDir],
    ],
    { cwd: PYTHON_RUNTIME_DIR, reject: false, timeout: EXPORT_TIMEOUT_MS },
  );
  if (exported.exitCode !== 0) return { error: failure("sax_worker.bench_peers export", exported) };
  const files = exportSchema.parse(JSON.parse(exported.stdout.trim().split("\n").at(-1) ?? "{}"));
  const promptIds = z
    .array(z.array(z.number().int()))
    .parse(JSON.parse(await readFile(files.prompt_ids, "utf8")));
  const outcome = await runLlamaServerPeer(
    {
      binary,
      gguf: files.gguf,
      promptIds,
      maxNewTokens: plan.maxNewTokens,
      levels: plan.levels,
      levelDurationMs: plan.levelDurationMs,
      requestTimeoutMs: plan.requestTimeoutMs,
      threads: cpus().length,
    },
    say,
  );
  return isPeerError(outcome) ? outcome : { rows: outcome.rows, binary };
}
