import { describe, expect, it } from "vitest";
import { createLogger } from "../../../src/common/log.js";
import type { MemoryProbe } from "../../../src/model-server/memory-budget.js";
import { WorkerModelLoader } from "../../../src/model-server/worker-loader.js";
import { ServableRegistry } from "../../../src/registry/index.js";

const GIB = 2 ** 30;
const registry = new ServableRegistry();

/** A loader whose workers could not start (no such Python), so only refusals before the start succeed. */
function loaderWith(memory: MemoryProbe) {
  return new WorkerModelLoader({
    registry,
    deviceCount: 1,
    jaxPlatforms: "cpu",
    pythonPath: "/nonexistent/python",
    memory,
    log: createLogger("test"),
  });
}

const load = (loader: WorkerModelLoader, modelPath: string) =>
  loader.load({
    modelKey: "/sax/test/m",
    modelPath,
    checkpointPath: "None",
    overrides: {},
    onEvent: () => 0,
  });

describe("WorkerModelLoader memory check", () => {
  it("refuses a model larger than the memory before starting a worker", async () => {
    const probe = { measure: () => Promise.resolve({ bytes: 2 * GIB, source: "free host memory" }) };
    const path = "saxml.server.pax.lm.params.lm_cloud.LLaMA7BFP16";
    await expect(load(loaderWith(probe), path)).rejects.toMatchObject({
      code: "RESOURCE_EXHAUSTED",
      message: expect.stringMatching(
        new RegExp(
          `^${path} needs about [\\d.]+ GiB \\(weights [\\d.]+ GiB in bfloat16 \\+ 20% headroom\\) but this model server has 2.0 GiB available \\(free host memory\\)`,
        ),
      ) as string,
    });
  });

  it("gives the memory back when the worker cannot start", async () => {
    // Room for one echo model (1 MiB) only: the second load gets past the check only if the first gave it back.
    const loader = loaderWith({ measure: () => Promise.resolve({ bytes: 1.5 * 2 ** 20, source: "x" }) });
    for (const attempt of [1, 2]) {
      const error = await load(loader, "saxts.test.Echo").then(
        () => new Error(`load ${attempt} succeeded`),
        (err: unknown) => err,
      );
      expect(error).toMatchObject({ code: expect.not.stringMatching("RESOURCE_EXHAUSTED") as string });
    }
  });
});
