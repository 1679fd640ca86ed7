/**
 * The baselines the cell is compared with, on the same weights: the same JAX model called in-process
 * one request at a time, and Hugging Face `transformers` generate on CPU. Both come from
 * `python -m sax_worker.bench_baselines` in the worker's virtual environment; a baseline that cannot
 * run (script missing, crash, unreadable output) becomes `{ error }`, never a missing entry.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { z } from "zod";
import { PYTHON_RUNTIME_DIR } from "../src/worker/model-worker-options.js";

/** The baselines, by report key → the script's `--mode`. */
export const BASELINE_MODES = { inprocess_jax: "jax", hf_transformers: "hf" } as const;

/** Report key of a baseline. */
export type BaselineName = keyof typeof BASELINE_MODES;

/** What the script reports; further fields are kept as they come. */
export const baselineReportSchema = z.looseObject({
  mode: z.string(),
  tokens_per_s: z.number().positive(),
  requests: z.number().int().nonnegative(),
  tokens: z.number().int().nonnegative(),
  elapsed_s: z.number().nonnegative(),
});

/** A baseline that ran: its throughput, and whatever else the script reported. */
export type BaselineReport = z.infer<typeof baselineReportSchema>;

/** Why a baseline has no figures. */
export interface BaselineError {
  readonly error: string;
}

/** A baseline that ran, or why it did not. */
export type BaselineResult = BaselineReport | BaselineError;

/** Inputs shared by every baseline run. */
export interface BaselineRunOptions {
  /** Resolved servable config JSON file (the registry's output). */
  readonly configPath: string;
  /** JSON file with the list of prompts. */
  readonly promptsPath: string;
  readonly seed: number;
  readonly maxNewTokens: number;
  /** Timed seconds per baseline (`--duration-s`); the script's default when absent. */
  readonly durationS?: number;
  /** Prompts per generate call of the HF baseline (`--batch`, a static batch). @default 1 */
  readonly batch?: number;
  /** Kill the script after this long. */
  readonly timeoutMs: number;
  /** Python module to run. @default "sax_worker.bench_baselines" */
  readonly module?: string;
  /** Extra environment (tests point PYTHONPATH at a stand-in module). */
  readonly env?: Readonly<Record<string, string>>;
}

/** The files the Python bench scripts read: the resolved config and the prompt list. */
export interface BenchFiles {
  readonly configPath: string;
  readonly promptsPath: string;
}

/** Writes `config` and `prompts` to a temp folder for `use`, and removes the folder afterwards. */
export async function withBenchFiles<T>(
  config: unknown,
  prompts: readonly string[],
  use: (files: BenchFiles) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "sax-bench-"));
  try {
    const files = { configPath: join(dir, "config.json"), promptsPath: join(dir, "prompts.json") };
    await writeFile(files.configPath, JSON.stringify(config));
    await writeFile(files.promptsPath, JSON.stringify(prompts));
    return await use(files);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const DEFAULT_MODULE = "sax_worker.bench_baselines";
const SCRIPT = join(PYTHON_RUNTIME_DIR, "sax_worker/bench_baselines.py");
const STDERR_LINES = 6;

/** Whether a result is a report rather than an error. */
export function isBaselineReport(result: BaselineResult): result is BaselineReport {
  return "tokens_per_s" in result;
}

/** Reads the script's stdout: one JSON object, possibly after log lines. */
export function parseBaselineOutput(stdout: string): BaselineResult {
  const text = stdout.trim();
  const start = text.lastIndexOf("\n{");
  const candidates = [text, start >= 0 ? text.slice(start + 1) : undefined];
  for (const candidate of candidates) {
    if (candidate === undefined) continue;
    let value: unknown;
    try {
      value = JSON.parse(candidate);
    } catch {
      continue;
    }
    const parsed = baselineReportSchema.safeParse(value);
    if (parsed.success) return parsed.data;
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    return { error: `baseline output has the wrong shape (${issues.join("; ")})` };
  }
  return { error: `baseline printed no JSON object: ${JSON.stringify(text.slice(-200))}` };
}

/** Runs every baseline in turn (never two at once: they would share the cores). */
export async function runBaselines(
  options: BaselineRunOptions,
  say: (line: string) => void,
): Promise<Record<BaselineName, BaselineResult>> {
  const results = {} as Record<BaselineName, BaselineResult>;
  for (const name of Object.keys(BASELINE_MODES) as BaselineName[]) {
    say(`baseline ${name}…`);
    const result = await runBaseline(name, options);
    say(`  ${isBaselineReport(result) ? `${result.tokens_per_s} tokens/s` : `failed: ${result.error}`}`);
    results[name] = result;
  }
  return results;
}

/** Runs one baseline; resolves with its report or its error, never rejects. */
export async function runBaseline(name: BaselineName, options: BaselineRunOptions): Promise<BaselineResult> {
  const module = options.module ?? DEFAULT_MODULE;
  if (module === DEFAULT_MODULE && !existsSync(SCRIPT)) {
    return { error: "python-runtime/sax_worker/bench_baselines.py is missing, so this baseline did not run" };
  }
  const args = [
    ...["-m", module, "--config", options.configPath, "--seed", String(options.seed)],
    ...["--prompts", options.promptsPath, "--max-new-tokens", String(options.maxNewTokens)],
    ...["--mode", BASELINE_MODES[name]],
    ...(options.durationS === undefined ? [] : ["--duration-s", String(options.durationS)]),
    ...(options.batch === undefined ? [] : ["--batch", String(options.batch)]),
  ];
  const result = await execa(join(PYTHON_RUNTIME_DIR, ".venv/bin/python"), args, {
    cwd: PYTHON_RUNTIME_DIR,
    env: { JAX_PLATFORMS: "cpu", ...options.env },
    reject: false,
    timeout: options.timeoutMs,
  });
  if (result.timedOut) {
    return { error: `${module} --mode ${BASELINE_MODES[name]} ran past ${options.timeoutMs} ms` };
  }
  if (result.exitCode !== 0) {
    const tail = result.stderr.trim().split("\n").slice(-STDERR_LINES).join("\n");
    const status = result.exitCode ?? result.signal ?? "unknown";
    return { error: `${module} --mode ${BASELINE_MODES[name]} exited with ${status}: ${tail}` };
  }
  return parseBaselineOutput(result.stdout);
}

/**
 * Field names a baseline may use for its per-token time in ms, in order of preference: decode-only
 * figures first, then bench_baselines.py's `per_token_ms` (prefill amortised over the request).
 */
const PER_TOKEN_FIELDS = ["decode_ms_per_token", "tpot_ms", "per_token_ms"] as const;

/** A baseline's per-token time in ms, and which field (or derivation) it came from. */
export interface PerTokenTime {
  readonly ms: number;
  readonly basis: string;
}

/**
 * The baseline's time per generated token: the first of {@link PER_TOKEN_FIELDS} the script reports (a
 * number, or an object with `median`, `p50` or `mean`), else `1000 / tokens_per_s`, which also spreads
 * each request's prefill over its tokens.
 */
export function perTokenTime(report: BaselineReport): PerTokenTime {
  for (const field of PER_TOKEN_FIELDS) {
    const value: unknown = report[field];
    if (typeof value === "number" && value > 0) return { ms: value, basis: field };
    if (typeof value === "object" && value !== null) {
      for (const key of ["median", "p50", "mean"]) {
        const inner: unknown = (value as Record<string, unknown>)[key];
        if (typeof inner === "number" && inner > 0) return { ms: inner, basis: `${field}.${key}` };
      }
    }
  }
  return { ms: 1000 / report.tokens_per_s, basis: "1000 / tokens_per_s" };
}
