import { execa } from "execa";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ServableRegistry } from "../../src/registry/index.js";
import { servableKindOf, WORKER_SERVABLE_KINDS, workersCanBuild } from "../../src/worker/servable-kinds.js";
import { REPO_ROOT } from "../helpers/processes.js";

const registry = new ServableRegistry();

describe("servable kinds the workers build", () => {
  it("match the Python worker's static builder table", async () => {
    const python = join(REPO_ROOT, "python-runtime/.venv/bin/python");
    const script =
      "import json; from sax_worker.servables.registry import BUILDERS; print(json.dumps(sorted(BUILDERS)))";
    const { stdout } = await execa(python, ["-c", script], { cwd: join(REPO_ROOT, "python-runtime") });
    expect(JSON.parse(stdout)).toEqual([...WORKER_SERVABLE_KINDS].sort());
  });

  it("cover every class of the registry's catalogue", () => {
    const kinds = registry.fullNames().map((path) => servableKindOf(registry.resolve(path).config));
    expect(new Set(kinds)).toEqual(WORKER_SERVABLE_KINDS);
    for (const path of registry.fullNames()) {
      expect(workersCanBuild(registry.resolve(path).config), path).toBe(true);
    }
  });
});
