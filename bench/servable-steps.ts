/**
 * Device-step timings of one servable, in-process in a Python worker's interpreter (no serving stack).
 * The registry resolves the class path and overrides exactly as a model server would; then, for an LM,
 * python-runtime/sax_worker/bench_steps.py times load, compile, prefill and per-token decode, and for a
 * vision model sax_worker/bench_vision.py times load and the per-request latency of each vm.* method.
 *
 *   npm run bench:steps -- <class path> [KEY=value overrides…] [--checkpoint DIR] [--steps N]
 *   npm run bench:steps -- saxml.server.pax.lm.params.lm_cloud.LmCloudSpmd2BTest --steps 8
 *   npm run bench:steps -- saxml.server.pax.vision.params.resnet.ImageNetResNet50 --repeats 10
 *
 * Prints the timings as JSON and writes them to bench/results/steps-<class name>.json.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { execa } from "execa";
import { ServableRegistry } from "../src/registry/index.js";
import { PYTHON_RUNTIME_DIR } from "../src/worker/model-worker-options.js";

const program = new Command("bench:steps")
  .argument("<classPath>", "registered param class path, e.g. saxts.lm.TinyLlama")
  .argument("[overrides...]", "KEY=value overrides, as in a Publish")
  .option("--checkpoint <path>", "step directory or state-dict file; None gives random weights", "None")
  .option("--steps <n>", "decode steps timed per repeat (LMs)", "32")
  .option("--prompt-tokens <n>", "prompt length in tokens, SOS included (LMs)", "16")
  .option("--repeats <n>", "timed repeats", "5")
  .parse();

const [classPath, overrideArgs] = program.processedArgs as [string, string[]];
const opts = program.opts<{ checkpoint: string; steps: string; promptTokens: string; repeats: string }>();
const overrides = Object.fromEntries(
  overrideArgs.map((arg) => {
    const eq = arg.indexOf("=");
    if (eq <= 0) throw new Error(`override ${JSON.stringify(arg)} is not KEY=value`);
    return [arg.slice(0, eq), arg.slice(eq + 1)];
  }),
);
const { config } = new ServableRegistry().resolve(classPath, overrides, { deviceCount: 1 });
const dir = await mkdtemp(join(tmpdir(), "sax-bench-steps-"));
try {
  const configPath = join(dir, "config.json");
  await writeFile(configPath, JSON.stringify(config));
  const common = ["--config", configPath, "--checkpoint", opts.checkpoint, "--repeats", opts.repeats];
  const args =
    config.kind === "vision"
      ? ["-m", "sax_worker.bench_vision", ...common]
      : [
          "-m",
          "sax_worker.bench_steps",
          ...common,
          "--steps",
          opts.steps,
          "--prompt-tokens",
          opts.promptTokens,
        ];
  const { stdout } = await execa(join(PYTHON_RUNTIME_DIR, ".venv/bin/python"), args, {
    cwd: PYTHON_RUNTIME_DIR,
    stderr: "inherit",
    env: { JAX_PLATFORMS: process.env.JAX_PLATFORMS ?? "cpu" },
  });
  const timings = JSON.parse(stdout) as Record<string, unknown>;
  const result = { classPath, overrides, ...timings };
  await mkdir("bench/results", { recursive: true });
  const out = `bench/results/steps-${classPath.split(".").pop()}.json`;
  await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
  console.log(`wrote ${out}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
