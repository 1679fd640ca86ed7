/**
 * Loads through a model server whose models run in real Python workers: what a load cost shows in
 * GetStatus, and loads that cannot fit the server's memory are refused before a worker starts.
 */
import { totalmem } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/common/log.js";
import { ModelStatus } from "../../src/gen/sax/common.js";
import { ModeletDefinition } from "../../src/gen/sax/modelet.js";
import { unaryClient, type UnaryClient } from "../../src/grpc/client.js";
import {
  startModelServer,
  startWorkerModelServer,
  type ModelServerHandle,
} from "../../src/model-server/model-server.js";
import { WorkerModelLoader } from "../../src/model-server/worker-loader.js";
import { ServableRegistry } from "../../src/registry/index.js";
import { estimateServableBytes } from "../../src/registry/memory-estimate.js";

const LLAMA_70B = "saxml.server.pax.lm.params.lm_cloud.LLaMA70BFP16TPUv5e";
const ECHO = "saxts.test.Echo";
const registry = new ServableRegistry();

describe("model server loading into Python workers", () => {
  let server: ModelServerHandle;
  let modelet: UnaryClient<typeof ModeletDefinition>;
  beforeAll(async () => {
    process.env.SAX_DEBUG_IPADDR = "1";
    server = await startWorkerModelServer({ port: 0 });
    modelet = unaryClient(ModeletDefinition, server.address);
  });
  afterAll(async () => {
    modelet.close();
    await server.close();
  });

  it("reports in GetStatus what loading TinyLlama cost", async () => {
    await modelet.load({
      modelKey: "/sax/test/tiny",
      modelPath: "saxts.lm.TinyLlama",
      checkpointPath: "None",
    });
    const { models } = await modelet.getStatus({});
    const tiny = models.find((m) => m.modelKey === "/sax/test/tiny");
    expect(tiny?.modelStatus).toBe(ModelStatus.LOADED);
    const info = tiny?.loadInfo;
    expect(info).toMatchObject({ parameters: 3_280_640, checkpointBytes: 0 });
    expect(info?.compileSeconds).toBeGreaterThan(0);
    expect(info?.weightsSeconds).toBeGreaterThan(0);
    expect(info?.loadSeconds).toBeGreaterThan((info?.compileSeconds ?? 0) + (info?.weightsSeconds ?? 0));
  }, 90_000);

  // A host with the memory for a 70B model would load it; the refusal is what is under test.
  const estimate70b = estimateServableBytes(registry.resolve(LLAMA_70B).config);
  it.skipIf(totalmem() > estimate70b)(
    "refuses at once, with RESOURCE_EXHAUSTED, a 70B model this host cannot hold",
    async () => {
      expect(registry.resolve(LLAMA_70B, {}, { deviceCount: 1 }).meshShape).toEqual([1, 1, 1]);
      const startMs = Date.now();
      const load = modelet.load({ modelKey: "/sax/test/big", modelPath: LLAMA_70B, checkpointPath: "None" });
      const error = await load.then(
        (): Error & { code?: string } => new Error("the load succeeded"),
        (err: unknown) => err as Error & { code?: string },
      );
      const numbers = new RegExp(
        `^${LLAMA_70B.replaceAll(".", "\\.")} needs about ([\\d.]+) GiB \\(weights [\\d.]+ GiB in bfloat16 \\+ 20% ` +
          `headroom\\) but this model server has ([\\d.]+) ([GM])iB available \\(free host memory, .+\\); use a smaller model`,
      ).exec(error.message);
      expect([error.code, numbers?.length]).toEqual(["RESOURCE_EXHAUSTED", 4]);
      expect(Number(numbers?.[1])).toBeCloseTo(estimate70b / 2 ** 30, 0);
      expect(Number(numbers?.[2]) * 2 ** (numbers?.[3] === "G" ? 30 : 20)).toBeLessThan(estimate70b);
      expect(Date.now() - startMs).toBeLessThan(5_000);
      const { models } = await modelet.getStatus({ includeFailureReasons: true });
      const big = models.find((m) => m.modelKey === "/sax/test/big");
      expect(big?.modelStatus).toBe(ModelStatus.FAILED);
      expect(big?.failureReason).toBe(error.message);
    },
  );
});

describe("model server memory budget with real workers", () => {
  let server: ModelServerHandle;
  let modelet: UnaryClient<typeof ModeletDefinition>;
  beforeAll(async () => {
    process.env.SAX_DEBUG_IPADDR = "1";
    // Room for one echo model (estimated at 1 MiB) and not two.
    const memory = { measure: () => Promise.resolve({ bytes: 1.5 * 2 ** 20, source: "a test budget" }) };
    const log = createLogger("test");
    const loader = new WorkerModelLoader({ registry, deviceCount: 1, jaxPlatforms: "cpu", memory, log });
    server = await startModelServer({ port: 0 }, { loader, servablePaths: [ECHO] });
    modelet = unaryClient(ModeletDefinition, server.address);
  });
  afterAll(async () => {
    modelet.close();
    await server.close();
  });

  it("counts loaded models against the memory and gets it back when they unload", async () => {
    await modelet.load({ modelKey: "/sax/test/a", modelPath: ECHO, checkpointPath: "None" });
    await expect(
      modelet.load({ modelKey: "/sax/test/b", modelPath: ECHO, checkpointPath: "None" }),
    ).rejects.toMatchObject({
      code: "RESOURCE_EXHAUSTED",
      message: expect.stringContaining(
        "has 0.5 MiB available (a test budget: 1.5 MiB, less 1.0 MiB estimated for the 1 model it already loaded)",
      ) as string,
    });
    await modelet.unload({ modelKey: "/sax/test/a" });
    await modelet.unload({ modelKey: "/sax/test/b" });
    await modelet.load({ modelKey: "/sax/test/b", modelPath: ECHO, checkpointPath: "None" });
    const { models } = await modelet.getStatus({});
    expect(models.map((m) => [m.modelKey, m.modelStatus, m.loadInfo?.parameters])).toEqual([
      ["/sax/test/b", ModelStatus.LOADED, 0],
    ]);
  }, 60_000);
});
