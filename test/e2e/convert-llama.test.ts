/**
 * bin/convert_llama_ckpt through to serving, the path of the README's "Use a real LLaMA checkpoint":
 * a tiny random LLaMA with saxts.lm.TinyLlama's shapes is written in Meta's format (two model-parallel
 * shards and params.json) and in Hugging Face's (safetensors), each format is converted, both results
 * are published with bin/saxutil in a cell of real processes, and greedy lm.generate on each must match
 * transformers' greedy generation on the Hugging Face files. Needs `npm run build` first.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServableRegistry } from "../../src/registry/index.js";
import { REPO_ROOT, runBin, startProcessCell, type ProcessCell } from "../helpers/processes.js";
import { saxutilBin } from "../helpers/saxutil.js";

const CLASS = "saxts.lm.TinyLlama";
const PROMPTS = ["Hello, cell", "The quick brown fox"];
const RUNTIME = join(REPO_ROOT, "python-runtime");

interface Answer {
  text: string;
  score: number;
}

/** Runs test/fixtures/convert_llama.py: writes `<dir>/meta` and `<dir>/hf`, returns transformers' answers. */
async function writeCheckpointsAndReference(dir: string): Promise<Answer[]> {
  const config = join(dir, "config.json");
  await writeFile(config, JSON.stringify(new ServableRegistry().resolve(CLASS).config));
  const { stdout } = await execa(
    join(RUNTIME, ".venv/bin/python"),
    [join(REPO_ROOT, "test/fixtures/convert_llama.py"), config, dir, ...PROMPTS],
    { env: { PYTHONPATH: [RUNTIME, join(RUNTIME, "tests")].join(delimiter) }, timeout: 120_000 },
  );
  return (JSON.parse(stdout) as { answers: Answer[] }).answers;
}

describe("convert_llama_ckpt", () => {
  let dir: string;
  let cell: ProcessCell;
  let expected: Answer[];
  const saxutil = (...argv: string[]) => saxutilBin(argv, { saxRoot: cell.saxRoot, timeoutMs: 240_000 });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sax-convert-"));
    [cell, expected] = await Promise.all([startProcessCell(dir), writeCheckpointsAndReference(dir)]);
  }, 150_000);
  afterAll(async () => {
    await cell?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("passes usage errors and their exit status through", async () => {
    const result = await runBin("convert_llama_ckpt", ["--base", dir, "--pax", dir, "--model-size", "3b"]);

    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("convert_llama_ckpt: error: argument --model-size: invalid choice: '3b'");
  });

  it("converts Meta shards and HF safetensors to checkpoints that generate like transformers", async () => {
    const models = await Promise.all(
      ["meta", "hf"].map(async (format) => {
        const converted = await runBin("convert_llama_ckpt", [
          ...["--base", join(dir, format), "--pax", join(dir, `pax-${format}`)],
          ...["--model-size", "custom", "--verify"],
        ]);
        expect(converted.exitCode, converted.stderr).toBe(0);
        expect(converted.stderr).toContain("verified 39 variables: identical to the source");
        expect(converted.stderr).toMatch(/peak RSS \d/);
        const step = converted.stdout.trim();
        expect(step).toBe(join(dir, `pax-${format}`, "checkpoint_00000000"));
        return { id: `/sax/test/${format}`, step };
      }),
    );

    const published = await Promise.all(
      models.map(({ id, step }) => saxutil("--sax_timeout=230s", "publish", "-wait", id, CLASS, step, "1")),
    );
    for (const result of published) expect(result.status, result.stderr).toBe(0);

    for (const { id } of models) {
      for (const [i, prompt] of PROMPTS.entries()) {
        const generated = await saxutil("--json", "lm.generate", id, prompt);
        expect(generated.status, generated.stderr).toBe(0);
        const [best] = (JSON.parse(generated.stdout) as { texts: Answer[] }).texts;
        expect(best?.text, `${id} "${prompt}"`).toBe(expected[i]?.text);
        expect(best?.score).toBeCloseTo(expected[i]?.score ?? NaN, 3);
      }
    }
  }, 480_000);
});
