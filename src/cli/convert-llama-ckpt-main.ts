/**
 * convert_llama_ckpt: converts Meta (`consolidated.NN.pth`) or Hugging Face (safetensors) LLaMA weights
 * into a Pax-layout checkpoint that the JAX LLaMA servables load. The converter is Python
 * (python-runtime/sax_worker/convert; `--help` lists its flags); this binary runs it in the project's
 * venv with the caller's arguments, working directory, stdio and exit status, so relative paths, the
 * progress bar (drawn when stderr is a terminal) and scripts behave as if Python had been run directly.
 */
import { execa } from "execa";
import { constants } from "node:os";
import { delimiter, join } from "node:path";
import { PYTHON_RUNTIME_DIR } from "../worker/model-worker-options.js";

const PROGRAM = "convert_llama_ckpt";
const python = join(PYTHON_RUNTIME_DIR, ".venv/bin/python");

const child = execa(python, ["-m", "sax_worker.convert", ...process.argv.slice(2)], {
  stdio: "inherit",
  reject: false,
  // sax_worker is imported from the checkout (not installed in the venv), without leaving the caller's
  // working directory, against which the paths in the arguments resolve.
  env: { PYTHONPATH: [PYTHON_RUNTIME_DIR, process.env.PYTHONPATH].filter(Boolean).join(delimiter) },
});
// Ctrl-C reaches the whole foreground process group, the converter included, which reports the
// interruption itself: this process only has to outlive it. kill(1) reaches this process alone, so
// SIGTERM and SIGHUP are passed on.
process.on("SIGINT", () => undefined);
for (const signal of ["SIGTERM", "SIGHUP"] as const) process.on(signal, () => child.kill(signal));

const result = await child;
if (result.signal !== undefined) process.exit(128 + constants.signals[result.signal]);
if (result.exitCode === undefined) {
  process.stderr.write(
    `${PROGRAM}: cannot run ${python}: ${result.shortMessage ?? "no exit status"}; ` +
      "npm install creates python-runtime/.venv\n",
  );
  process.exit(1);
}
process.exit(result.exitCode);
