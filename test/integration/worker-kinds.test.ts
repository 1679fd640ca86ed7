import { execa } from "execa";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/common/log.js";
import { WorkerModelLoader } from "../../src/model-server/worker-loader.js";
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

  it("cover TinyLlama, Echo and the LLaMA classes, not yet the LmCloud family", () => {
    const kind = (path: string) => registry.resolve(path).config;
    expect(workersCanBuild(kind("saxts.lm.TinyLlama"))).toBe(true);
    expect(workersCanBuild(kind("saxts.test.Echo"))).toBe(true);
    expect(workersCanBuild(kind("saxml.server.pax.lm.params.lm_cloud.LLaMA7BFP16"))).toBe(true);
    expect(servableKindOf(kind("saxml.server.pax.lm.params.lm_cloud.LmCloudSpmd2BTest"))).toBe("lm/lm_cloud");
    expect(workersCanBuild(kind("saxml.server.pax.lm.params.lm_cloud.LmCloudSpmd2BTest"))).toBe(false);
  });

  it("fail a Load of a kind the workers cannot build at once, without starting a worker", async () => {
    const loader = new WorkerModelLoader({
      registry,
      deviceCount: 1,
      jaxPlatforms: "cpu",
      log: createLogger("test"),
    });
    const load = loader.load({
      modelKey: "/sax/test/lmc",
      modelPath: "saxml.server.pax.lm.params.lm_cloud.LmCloudSpmd2BTest",
      checkpointPath: "None",
      overrides: {},
      onEvent: () => undefined,
    });
    await expect(load).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: expect.stringContaining(
        "is a lm/lm_cloud servable, which this model server's workers cannot build yet",
      ) as string,
    });
  });
});
