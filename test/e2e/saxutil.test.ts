import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startProcessCell, type ProcessCell } from "../helpers/processes.js";
import { saxutilBin } from "../helpers/saxutil.js";
import { eventually } from "../helpers/test-admin.js";

const ID = "/sax/test/tiny";

// bin/saxutil as a subprocess against a cell of real processes serving saxts.lm.TinyLlama (JAX, CPU).
// Needs `npm run build` first (npm test does it).
describe("saxutil against a local cell", () => {
  let dir: string;
  let cell: ProcessCell;
  const saxutil = (...argv: string[]) => saxutilBin(argv, { saxRoot: cell.saxRoot });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sax-saxutil-"));
    cell = await startProcessCell(dir);
  }, 60_000);
  afterAll(async () => {
    await cell?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("publishes TinyLlama, serves lm.* through it, scales it to zero and unpublishes it", async () => {
    const published = await saxutil("publish", "-wait", ID, "saxts.lm.TinyLlama", "None", "1");
    expect(published.status, published.stderr).toBe(0);
    expect(published.stderr).toMatch(/\/sax\/test\/tiny: 1\/1 replicas ready after \d+\.\ds\n$/);

    const listed = await saxutil("ls", ID);
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/\| MODEL \| +MODEL PATH +\| CHECKPOINT PATH \| # OF REPLICAS \|/);
    expect(listed.stdout).toMatch(
      new RegExp(`\\| tiny +\\| saxts\\.lm\\.TinyLlama +\\| None +\\| +1 \\| ${cell.server.address} `),
    );

    const generated = await saxutil("--json", "lm.generate", ID, "Hello");
    expect(generated.status, generated.stderr).toBe(0);
    const { texts } = JSON.parse(generated.stdout) as { texts: { text: string; score: number }[] };
    expect(texts).toHaveLength(1);
    expect(texts[0]?.score).toBeLessThan(0);
    const table = await saxutil("lm.generate", ID, "Hello");
    expect(table.stdout).toMatch(/^\+-+\+-+\+\n\| +GENERATE +\| +SCORE +\|\n/);
    expect(table.stdout).toMatch(/\| -\d+\.\d+ \|\n/);

    // Not a terminal: the text is written as it streams, then the summed score.
    const streamed = await saxutil("lm.generate", "-stream", ID, "Hello");
    expect(streamed.status, streamed.stderr).toBe(0);
    expect(streamed.stdout).toMatch(/\n\nScores: -\d+(\.\d+)?(e[+-]\d+)?\n$/);
    expect(streamed.stdout.startsWith(`${texts[0]?.text}\n\n`)).toBe(true);

    const scored = await saxutil("lm.score", ID, "Hello", " world");
    expect(scored.status, scored.stderr).toBe(0);
    expect(scored.stdout).toMatch(/\| SUFFIX \| +SCORE +\|\n.*\n\| {2}world \| +-\d+(\.\d+)? \|\n/);

    const embedded = await saxutil("-json", "lm.embed", ID, "Hello");
    expect(embedded.status, embedded.stderr).toBe(0);
    expect((JSON.parse(embedded.stdout) as { embedding: number[] }).embedding).toHaveLength(256);
    expect((await saxutil("lm.embed", ID, "Hello")).stdout).toMatch(/\| TEXT {2}\| +EMBEDDING +\|\n/);

    expect(await saxutil("update", "-replicas=0", ID)).toMatchObject({ status: 0, stdout: "", stderr: "" });
    await eventually(
      async () => {
        const { stdout } = await saxutil("--json", "ls", ID);
        const { model } = JSON.parse(stdout) as {
          model: { requestedReplicas: number; assignedReplicas: number };
        };
        return model.requestedReplicas === 0 && model.assignedReplicas === 0 ? true : undefined;
      },
      20_000,
      "the replica to be released",
    );

    expect(await saxutil("unpublish", ID)).toMatchObject({ status: 0, stdout: "", stderr: "" });
    const gone = await saxutil("ls", ID);
    expect(gone.status).toBe(1);
    expect(gone.stderr).toMatch(
      /^saxutil: cannot list model \/sax\/test\/tiny: .*; 'saxutil ls \/sax\/test' lists/,
    );
  }, 180_000);
});
