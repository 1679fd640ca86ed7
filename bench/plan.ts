/**
 * What one benchmark run does, resolved once from the command line: the model, the concurrency levels
 * and how long each lasts, and the fixed prompt list every part of the run (cell and baselines) uses.
 */

/** Short deterministic prompts, 16–24 bytes of ASCII each; a run uses the first few or all of them. */
export const PROMPTS = [
  "The quick brown fox",
  "Serving models at scale",
  "Once upon a time, a",
  "The capital of France",
  "def fibonacci(n):",
  "A haiku about autumn:",
  "Translate to German: hi",
  "The meaning of life is",
  "Q: What is 2 + 2? A:",
  "Dear diary, today I",
  "Rain falls on the city",
  "import numpy as np",
  "In the beginning there",
  "Key ideas of batching:",
  "SELECT name FROM users",
  "My favourite colour is",
] as const;

/** The prompt of request number `seq`: the prompts in turn. */
export function promptFor(prompts: readonly string[], seq: number): string {
  const count = prompts.length;
  return prompts[((seq % count) + count) % count] ?? PROMPTS[0];
}

/** The model class the benchmark drives unless `--model` says otherwise. */
export const DEFAULT_MODEL = "saxts.lm.TinyLlama";

/** The model of a `--peers` run unless `--model` says otherwise: the one llama.cpp gets as GGUF. */
export const PEERS_MODEL = "saxts.lm.BenchLlama45M";

/** The class a run drives: `--model`, else the peers' model or the default. */
export function modelOf(flags: BenchFlags): string {
  return flags.model ?? (flags.peers === true ? PEERS_MODEL : DEFAULT_MODEL);
}

/** The weights' seed: the model server's `--deterministic_rng` seed, passed to the baselines too. */
export const SEED = 1234;

/** Command-line flags, as commander gives them. */
export interface BenchFlags {
  readonly quick?: boolean;
  readonly model?: string;
  readonly maxNewTokens?: string;
  /** Comma-separated concurrency levels replacing the mode's. */
  readonly levels?: string;
  /** Also measure llama.cpp, HF static batches and the bandwidth limit (bench/peers.ts). */
  readonly peers?: boolean;
}

/** What the plan needs to know of the model: its decode-step limit, whether it streams, its vocabulary. */
export interface BenchModelFacts {
  /** MAX_DECODE_STEPS: one limit, or one per bucket (Saxml's list form). */
  readonly maxDecodeSteps: number | readonly number[];
  readonly streams: boolean;
  readonly vocabSize: number;
}

/** A fully resolved run. */
export interface ResolvedBenchPlan {
  readonly mode: "quick" | "full";
  readonly classPath: string;
  readonly maxNewTokens: number;
  /**
   * Publish overrides (and the baselines' config): MAX_DECODE_STEPS when `--max-new-tokens` lowers it,
   * since a greedy servable may ignore the per-request step count; ENABLE_GENERATE_STREAM when the class
   * does not stream by default, since every level is timed over lm.generate_stream.
   */
  readonly overrides: Readonly<Record<string, string>>;
  /** Concurrent streams per level. */
  readonly levels: readonly number[];
  /** Measured phase of each streaming level. */
  readonly levelDurationMs: number;
  /** Measured phase of each echo level (1 client, then `echoConcurrency`). */
  readonly echoDurationMs: number;
  readonly echoConcurrency: number;
  /** Prompts that the cell's users and the baselines cycle through. */
  readonly prompts: readonly string[];
  /** Timed seconds of each baseline. */
  readonly baselineDurationS: number;
  readonly baselineTimeoutMs: number;
  /** Deadline of one benchmark request. */
  readonly requestTimeoutMs: number;
  /**
   * Publish → ready deadline. The deadlines are wide enough for LmCloudSpmd2BTest on two CPU cores
   * (about 80 s to load and compile, about 30 s a request); TinyLlama loads in 10–20 s.
   */
  readonly loadTimeoutMs: number;
}

const MODES = {
  quick: {
    levels: [1, 8, 32],
    levelDurationMs: 6_000,
    echoDurationMs: 3_000,
    prompts: 8,
    baselineDurationS: 5,
  },
  full: {
    levels: [1, 4, 16, 32, 64],
    levelDurationMs: 30_000,
    echoDurationMs: 10_000,
    prompts: 16,
    baselineDurationS: 15,
  },
} as const;

/**
 * Resolves the flags against the model's facts. Throws an Error naming the flag for a bad
 * `--max-new-tokens` (its default is the model's limit) or `--levels`.
 */
export function resolveBenchPlan(flags: BenchFlags, model: BenchModelFacts): ResolvedBenchPlan {
  const mode = flags.quick ? "quick" : "full";
  const settings = MODES[mode];
  const listed = typeof model.maxDecodeSteps !== "number";
  const maxDecodeSteps = listed ? Math.max(...model.maxDecodeSteps) : model.maxDecodeSteps;
  let maxNewTokens = maxDecodeSteps;
  if (flags.maxNewTokens !== undefined) {
    maxNewTokens = Number(flags.maxNewTokens);
    if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1 || maxNewTokens > maxDecodeSteps) {
      throw new Error(
        `--max-new-tokens must be an integer from 1 to the model's ${maxDecodeSteps} decode steps, ` +
          `got ${JSON.stringify(flags.maxNewTokens)}`,
      );
    }
  }
  const overrides: Record<string, string> = {};
  if (maxNewTokens < maxDecodeSteps) {
    overrides.MAX_DECODE_STEPS = listed ? `[${maxNewTokens}]` : String(maxNewTokens);
  }
  if (!model.streams) overrides.ENABLE_GENERATE_STREAM = "true";
  // Peers decode exactly maxNewTokens tokens (llama.cpp's ignore_eos), so the cell must not stop at
  // EOS either: its only stop id becomes one the model cannot emit.
  if (flags.peers === true) overrides.STOP_TOKEN_IDS = `[${model.vocabSize}]`;
  return {
    mode,
    classPath: modelOf(flags),
    maxNewTokens,
    overrides,
    levels: flags.levels === undefined ? settings.levels : parseLevels(flags.levels),
    levelDurationMs: settings.levelDurationMs,
    echoDurationMs: settings.echoDurationMs,
    echoConcurrency: 64,
    prompts: PROMPTS.slice(0, settings.prompts),
    baselineDurationS: settings.baselineDurationS,
    baselineTimeoutMs: 1_800_000,
    requestTimeoutMs: 600_000,
    loadTimeoutMs: 900_000,
  };
}

/** `--levels 1,4,16`: distinct positive integers, run in ascending order. */
function parseLevels(text: string): number[] {
  const levels = text.split(",").map((part) => Number(part.trim()));
  if (levels.length === 0 || levels.some((level) => !Number.isInteger(level) || level < 1)) {
    throw new Error(`--levels must be positive integers separated by commas, got ${JSON.stringify(text)}`);
  }
  return [...new Set(levels)].sort((a, b) => a - b);
}
