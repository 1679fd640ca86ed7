/**
 * The PyTorch LLaMA servable through a whole cell of real processes: `saxts.lm.TinyLlamaTorch` and the
 * JAX `saxts.lm.TinyLlama`, published side by side under --deterministic_rng (so both draw the same
 * random weights from seed 1234), must generate the same greedy text and score alike.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Sax } from "../../src/client/index.js";
import { startProcessCell, type ProcessCell } from "../helpers/processes.js";

const MODELS = { jax: "saxts.lm.TinyLlama", torch: "saxts.lm.TinyLlamaTorch" } as const;
const PROMPTS = ["Hello, cell", "The quick brown fox"];
const OPTIONS = { timeoutMs: 60_000 };

describe("the torch servable through a cell", () => {
  let dir: string;
  let cell: ProcessCell;
  let sax: Sax;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sax-torch-"));
    cell = await startProcessCell(dir, { modelServerArgs: ["--deterministic_rng"] });
    sax = new Sax({ saxRoot: cell.saxRoot });
    const admin = sax.admin("/sax/test");
    for (const [name, modelPath] of Object.entries(MODELS)) {
      await admin.publish({
        modelId: `/sax/test/${name}`,
        modelPath,
        checkpointPath: "None",
        numReplicas: 1,
      });
    }
    await Promise.all(
      Object.keys(MODELS).map((name) => admin.waitForReady(`/sax/test/${name}`, 1, { timeoutMs: 120_000 })),
    );
  }, 180_000);
  afterAll(async () => {
    await sax?.close();
    await cell?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("generates the JAX TinyLlama's greedy text from the same seed", async () => {
    for (const prompt of PROMPTS) {
      const [torch, jax] = await Promise.all([
        sax.model("/sax/test/torch").lm.generate(prompt, OPTIONS),
        sax.model("/sax/test/jax").lm.generate(prompt, OPTIONS),
      ]);
      expect(torch[0]?.text).not.toBe("");
      expect(torch.map((sample) => sample.text)).toEqual(jax.map((sample) => sample.text));
      expect(torch[0]?.score).toBeCloseTo(jax[0]?.score ?? NaN, 3);
    }
  }, 60_000);

  it("streams the same text as its own lm.generate", async () => {
    const lm = sax.model("/sax/test/torch").lm;
    let text = "";
    for await (const [sample] of lm.generateStream(PROMPTS[0] ?? "", OPTIONS)) {
      text = text.slice(0, sample?.prefixLen) + (sample?.text ?? "");
    }
    const [generated] = await lm.generate(PROMPTS[0] ?? "", OPTIONS);
    expect(text).toBe(generated?.text);
  }, 60_000);

  it("answers lm.score and lm.embed like the JAX TinyLlama", async () => {
    const [torch, jax] = [sax.model("/sax/test/torch").lm, sax.model("/sax/test/jax").lm];
    const [torchScore, jaxScore] = await Promise.all([
      torch.score("Hello", [", cell"], OPTIONS),
      jax.score("Hello", [", cell"], OPTIONS),
    ]);
    expect(torchScore).toHaveLength(1);
    expect(torchScore[0]).toBeLessThan(0);
    expect(torchScore[0]).toBeCloseTo(jaxScore[0] ?? NaN, 3);

    const [torchEmbedding, jaxEmbedding] = await Promise.all([
      torch.embed("Hello", OPTIONS),
      jax.embed("Hello", OPTIONS),
    ]);
    expect(torchEmbedding).toHaveLength(jaxEmbedding.length);
    torchEmbedding.forEach((value, i) => expect(value).toBeCloseTo(jaxEmbedding[i] ?? NaN, 3));
  }, 60_000);
});
