/**
 * The JAX LM servable through a whole cell of real processes (admin, model server, Python worker),
 * answering every LM method exactly as the same servable does when called directly in Python: first
 * with seeded random weights (checkpoint None, --deterministic_rng), then from those weights saved as a
 * Pax-layout step directory.
 */
import { writeFile } from "node:fs/promises";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Sax } from "../../src/client/index.js";
import { DETERMINISTIC_SEED } from "../../src/model-server/worker-loader.js";
import { ServableRegistry } from "../../src/registry/index.js";
import { REPO_ROOT, startProcessCell, type ProcessCell } from "../helpers/processes.js";

const CLASS = "saxts.lm.TinyLlama";
const REQUESTS = [
  { method: "lm.generate", request: { text: "Hello, cell" } },
  { method: "lm.generate_stream", request: { text: "Hello" } },
  { method: "lm.score", request: { prefix: "Hello", suffix: [", cell"] } },
  { method: "lm.embed", request: { text: "Hello" } },
  { method: "lm.gradient", request: { prefix: "He", suffix: "llo" } },
] as const;

interface StreamChunk {
  items: { text: string; prefix_len: number; scores: number[] }[];
}
interface DirectAnswers {
  generate: { texts: { text: string; score: number }[] };
  stream: StreamChunk[];
  score: { logp: number[] };
  embed: { embedding: number[] };
  gradient: { score: number[]; gradients: Record<string, number[]> };
}

/** Runs test/fixtures/direct_servable.py: the servable's own answers, and its weights saved to `saveTo`. */
async function directAnswers(dir: string, saveTo: string): Promise<DirectAnswers> {
  const { config } = new ServableRegistry().resolve(CLASS);
  await writeFile(join(dir, "config.json"), JSON.stringify(config));
  await writeFile(join(dir, "requests.json"), JSON.stringify(REQUESTS));
  const runtime = join(REPO_ROOT, "python-runtime");
  const { stdout } = await execa(
    join(runtime, ".venv/bin/python"),
    [
      join(REPO_ROOT, "test/fixtures/direct_servable.py"),
      ...[join(dir, "config.json"), "None", String(DETERMINISTIC_SEED), join(dir, "requests.json"), saveTo],
    ],
    { cwd: runtime, env: { PYTHONPATH: runtime, JAX_PLATFORMS: "cpu" } },
  );
  const [generate, stream, score, embed, gradient] = (JSON.parse(stdout) as { answers: unknown[] }).answers;
  return { generate, stream, score, embed, gradient } as DirectAnswers;
}

function expectClose(actual: readonly number[], expected: readonly number[]) {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((value, i) => expect(value).toBeCloseTo(expected[i] ?? NaN, 4));
}

describe("the JAX servable through a cell", () => {
  let dir: string;
  let cell: ProcessCell;
  let sax: Sax;
  let expected: DirectAnswers;
  let checkpoint: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sax-jax-"));
    checkpoint = join(dir, "ckpt", "checkpoint_00000000");
    [cell, expected] = await Promise.all([
      startProcessCell(dir, { modelServerArgs: ["--deterministic_rng"] }),
      directAnswers(dir, checkpoint),
    ]);
    sax = new Sax({ saxRoot: cell.saxRoot });
  }, 120_000);
  afterAll(async () => {
    await sax?.close();
    await cell?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function expectDirectAnswers(modelId: string) {
    const lm = sax.model(modelId).lm;
    const options = { timeoutMs: 60_000 };

    const generated = await lm.generate("Hello, cell", options);
    expect(generated.map((t) => t.text)).toEqual(expected.generate.texts.map((t) => t.text));
    expectClose(
      generated.map((t) => t.score),
      expected.generate.texts.map((t) => t.score),
    );

    const chunks = [];
    for await (const samples of lm.generateStream("Hello", options)) chunks.push(samples);
    expect(chunks.map((c) => c.map((s) => [s.text, s.prefixLen]))).toEqual(
      expected.stream.map((c) => c.items.map((s) => [s.text, s.prefix_len])),
    );
    expectClose(
      chunks.flatMap((c) => c.flatMap((s) => s.scores)),
      expected.stream.flatMap((c) => c.items.flatMap((s) => s.scores)),
    );

    expectClose(await lm.score("Hello", [", cell"], options), expected.score.logp);
    expectClose(await lm.embed("Hello", options), expected.embed.embedding);

    const gradient = await lm.gradient("He", "llo", options);
    expectClose(gradient.score, expected.gradient.score);
    expect(Object.keys(gradient.gradients).sort()).toEqual(Object.keys(expected.gradient.gradients).sort());
    for (const [name, values] of Object.entries(expected.gradient.gradients)) {
      expectClose(gradient.gradients[name] ?? [], values);
    }
  }

  it("answers every LM method like the servable itself, with seeded random weights", async () => {
    const admin = sax.admin("/sax/test");
    await admin.publish({
      modelId: "/sax/test/tiny",
      modelPath: CLASS,
      checkpointPath: "None",
      numReplicas: 1,
    });
    await admin.waitForReady("/sax/test/tiny", 1, { timeoutMs: 90_000 });
    await expectDirectAnswers("/sax/test/tiny");
  }, 150_000);

  it("answers the same from those weights saved as a Pax checkpoint", async () => {
    const admin = sax.admin("/sax/test");
    await admin.publish({
      modelId: "/sax/test/ckpt",
      modelPath: CLASS,
      checkpointPath: checkpoint,
      numReplicas: 1,
    });
    await admin.waitForReady("/sax/test/ckpt", 1, { timeoutMs: 90_000 });
    await expectDirectAnswers("/sax/test/ckpt");
  }, 150_000);
});
