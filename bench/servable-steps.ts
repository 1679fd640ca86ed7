/**
 * Device-step timings of one LM servable, in-process in a Python worker's interpreter (no serving
 * stack): load, compile, prefill and per-token decode. The registry resolves the class path and
 * overrides exactly as a model server would; python-runtime/sax_worker/bench_steps.py does the timing.
 *
 *   npm run bench:steps -- <class path> [KEY=value overrides…] [--checkpoint DIR] [--steps N]
 *   npm run bench:steps -- saxml.server.pax.lm.params.lm_cloud.LmCloudSpmd2BTest --steps 8
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
  .option("--checkpoint <dir>", "step directory; None gives random weights on test-mode classes", "None")
  .option("--steps <n>", "decode steps timed per repeat", "32")
  .option("--prompt-tokens <n>", "prompt length in tokens, SOS included", "16")
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
  const { stdout } = await execa(
    join(PYTHON_RUNTIME_DIR, ".venv/bin/python"),
    [
      "-m",
      "sax_worker.bench_steps",
      ...["--config", configPath, "--checkpoint", opts.checkpoint],
      ...["--steps", opts.steps, "--prompt-tokens", opts.promptTokens, "--repeats", opts.repeats],
    ],
    {
      cwd: PYTHON_RUNTIME_DIR,
      stderr: "inherit",
      env: { JAX_PLATFORMS: process.env.JAX_PLATFORMS ?? "cpu" },
    },
  );
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
