/**
 * `npm run bench`: the serving benchmark. In order, so that no part competes with another for the CPU:
 *
 *   1. the control-plane numbers (admin RPCs on an in-process admin, bench/control-plane.ts);
 *   2. the baselines on the same weights: the JAX model in-process one request at a time, and Hugging
 *      Face transformers generate on CPU (bench/baselines.ts, a Python script);
 *   3. with --peers, llama.cpp's llama-server, HF static batches and the bandwidth limit on the same
 *      weights (bench/peers.ts);
 *   4. a local cell of real processes (bench/cell.ts) serving the model and the echo servable, driven by
 *      the Node client in closed loops at each concurrency (bench/levels.ts);
 *   5. the targets of issues 6 and 11 (bench/targets.ts).
 *
 * It prints tables, and writes bench/results/latest.json and bench/results/throughput.svg (for a
 * `--model` other than the default, latest-<class name>.json and throughput-<class name>.svg).
 *
 *   npm run bench [-- --quick] [--peers] [--model <class path>] [--max-new-tokens <n>] [--levels 1,4]
 */
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { Command } from "commander";
import { ServableRegistry, type LmServableConfig } from "../src/registry/index.js";
import {
  isBaselineReport,
  runBaselines,
  withBenchFiles,
  type BaselineName,
  type BaselineResult,
} from "./baselines.js";
import { throughputSvg } from "./chart.js";
import { runControlPlaneBench } from "./control-plane.js";
import { MAX_STEPS_INPUT, runServingBench, type Say } from "./levels.js";
import { isPeerError, runPeers, type PeersResult } from "./peers.js";
import {
  DEFAULT_MODEL,
  modelOf,
  PEERS_MODEL,
  resolveBenchPlan,
  SEED,
  type BenchFlags,
  type ResolvedBenchPlan,
} from "./plan.js";
import { renderReport, type BenchResult, type MachineInfo } from "./report.js";
import { round } from "./stats.js";
import { evaluatePeerTargets, evaluateTargets } from "./targets.js";

const RESULTS = new URL("results/", import.meta.url);
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

const say: Say = (line) => process.stderr.write(`bench: ${line}\n`);
const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

function machineInfo(): MachineInfo {
  return {
    cores: cpus().length,
    memory_bytes: totalmem(),
    cpu_model: cpus()[0]?.model.trim() ?? "unknown",
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

/** The model's LM config, or a usage error for a class that is not a generating LM. */
function lmConfigOf(classPath: string, overrides: Readonly<Record<string, string>> = {}): LmServableConfig {
  const resolved = new ServableRegistry().resolve(classPath, overrides);
  if (resolved.config.kind !== "lm" || !resolved.methods.includes("lm.generate")) {
    throw new Error(`--model ${classPath} is not a language model that serves lm.generate`);
  }
  return resolved.config;
}

/** Runs the baselines on `config` and the plan's prompts. */
function baselinesFor(
  config: LmServableConfig,
  plan: ResolvedBenchPlan,
): Promise<Record<BaselineName, BaselineResult>> {
  return withBenchFiles(config, plan.prompts, (files) =>
    runBaselines(
      {
        ...files,
        seed: SEED,
        maxNewTokens: plan.maxNewTokens,
        durationS: plan.baselineDurationS,
        timeoutMs: plan.baselineTimeoutMs,
      },
      say,
    ),
  );
}

function notesOf(plan: ResolvedBenchPlan, config: LmServableConfig): string[] {
  const notes = [
    "client, servers and workers share this machine's cores; the load generator's CPU time is not free",
    "tokens are counted from stream messages: one per decode step with STREAM_INTERVAL_STEPS 1 (see bench/stream-timing.ts)",
  ];
  if (config.serving.streamIntervalSteps > 1) {
    notes.push(`STREAM_INTERVAL_STEPS is ${config.serving.streamIntervalSteps}: token counts are a floor`);
  }
  if (!(MAX_STEPS_INPUT in config.serving.extraInputs)) {
    notes.push(
      `${plan.classPath} declares no ${MAX_STEPS_INPUT} extra input: the cell decodes its own maximum`,
    );
  }
  return notes;
}

async function main(): Promise<number> {
  const wallStart = performance.now();
  const flags = new Command("bench")
    .description("Benchmark a local Sax cell against in-process and Hugging Face baselines.")
    .option("--quick", "reduced run (levels 1, 8, 32; a few seconds each): under 5 minutes on 2 cores")
    .option(
      "--model <classPath>",
      `registered LM class path to serve (default: ${DEFAULT_MODEL}, or ${PEERS_MODEL} with --peers)`,
    )
    .option("--max-new-tokens <n>", "decode steps per request (default: the model's maximum)")
    .option("--levels <list>", "concurrency levels, comma-separated (default: the mode's)")
    .option(
      "--peers",
      "also measure llama.cpp's llama-server, HF static batches and the bandwidth limit on the same weights " +
        "(default model saxts.lm.BenchLlama45M; builds llama-server on the first run)",
    )
    .parse()
    .opts<BenchFlags>();
  let config: LmServableConfig;
  let plan: ResolvedBenchPlan;
  try {
    const { serving, architecture } = lmConfigOf(modelOf(flags));
    plan = resolveBenchPlan(flags, {
      maxDecodeSteps: serving.maxDecodeSteps,
      streams: serving.enableGenerateStream,
      vocabSize: architecture.vocabSize,
    });
    config = lmConfigOf(plan.classPath, plan.overrides);
  } catch (err) {
    say(messageOf(err));
    return EXIT_USAGE;
  }

  say("control plane…");
  const controlPlane = await runControlPlaneBench().catch((err: unknown) => ({ error: messageOf(err) }));
  const baselines = await baselinesFor(config, plan);
  const peers = flags.peers === true ? await runPeers(plan, config, say) : undefined;
  const serving = await runServingBench(plan, config, say);
  const result: BenchResult = {
    date: new Date().toISOString(),
    mode: plan.mode,
    machine: machineInfo(),
    model: {
      class_path: plan.classPath,
      max_new_tokens: plan.maxNewTokens,
      prompts: plan.prompts.length,
      seed: SEED,
      stream_interval_steps: config.serving.streamIntervalSteps,
      num_samples: config.serving.numSamples,
      load_s: serving.loadS,
      overrides: plan.overrides,
    },
    rows: serving.rows,
    ...(serving.error ? { serving_error: serving.error } : {}),
    baselines,
    echo: serving.echo,
    targets: {
      ...evaluateTargets({ rows: serving.rows, baselines, echo: serving.echo }),
      ...(peers ? peerTargets(serving.rows, peers) : {}),
    },
    control_plane: controlPlane,
    ...(peers ? { peers } : {}),
    notes: notesOf(plan, config),
    wall_s: round((performance.now() - wallStart) / 1000, 1),
  };
  await writeResults(result);
  process.stdout.write(renderReport(result));
  return serving.error ? EXIT_FAILURE : 0;
}

function peerTargets(rows: BenchResult["rows"], peers: PeersResult) {
  return evaluatePeerTargets({
    rows,
    llamaServerRows: isPeerError(peers.llama_server) ? peers.llama_server : peers.llama_server.rows,
    limitTokensPerS: isPeerError(peers.bandwidth) ? peers.bandwidth : peers.bandwidth.limit_tokens_per_s,
  });
}

/** Result file names: the default model's are the well-known ones, another model's carry its name. */
function resultNames(classPath: string): { json: string; svg: string } {
  const suffix = classPath === DEFAULT_MODEL ? "" : `-${classPath.split(".").pop() ?? classPath}`;
  return { json: `latest${suffix}.json`, svg: `throughput${suffix}.svg` };
}

async function writeResults(result: BenchResult): Promise<void> {
  const names = resultNames(result.model.class_path);
  await mkdir(RESULTS, { recursive: true });
  await writeFile(new URL(names.json, RESULTS), `${JSON.stringify(result, null, 2)}\n`);
  const reference = (b: BaselineResult) => (isBaselineReport(b) ? b.tokens_per_s : null);
  const svg = throughputSvg({
    title: `Throughput of ${result.model.class_path} through a local sax-ts cell`,
    subtitle: `${result.machine.cores} cores, ${result.model.max_new_tokens} new tokens, ${result.mode} run, ${result.date.slice(0, 10)}`,
    series: [
      {
        label: "sax-ts cell (tokens/s)",
        points: result.rows.map((row) => ({ x: row.concurrency, y: row.tokens_per_s })),
      },
      ...(result.peers && !isPeerError(result.peers.llama_server)
        ? [
            {
              label: "llama.cpp llama-server",
              points: result.peers.llama_server.rows.map((row) => ({
                x: row.concurrency,
                y: row.tokens_per_s,
              })),
            },
          ]
        : []),
    ],
    references: [
      { label: "in-process JAX", value: reference(result.baselines.inprocess_jax) },
      { label: "HF transformers", value: reference(result.baselines.hf_transformers) },
    ],
  });
  await writeFile(new URL(names.svg, RESULTS), svg);
  say(`wrote bench/results/${names.json} and bench/results/${names.svg}`);
}

process.exitCode = await main();
