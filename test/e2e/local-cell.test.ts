import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { runBin } from "../helpers/processes.js";

it("npm start's local cell loads TinyLlama and answers a generate request found through WatchLoc", async () => {
  const dir = await mkdtemp(join(tmpdir(), "sax-local-"));
  try {
    const result = await runBin("local_cell", ["--once", "--port=0", "--status_port=0", `--dir=${dir}`]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      /^local cell \/sax\/local is up: admin at 127\.0\.0\.1:\d+, model server at 127\.0\.0\.1:\d+/,
    );
    expect(result.stdout).toContain("published /sax/local/tiny (saxts.lm.TinyLlama)");
    expect(result.stdout).toMatch(/lm\.generate\("Hello, Sax!"\) → ".+" \(score -\d+\.\d\d\)/);
    const again = await runBin("local_cell", ["--once", "--port=0", "--status_port=0", `--dir=${dir}`]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toContain("restored 1 published model(s)");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 180_000);
