import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LMServiceDefinition, type GenerateStreamResponse } from "../../src/gen/sax/lm.js";
import { ModeletDefinition } from "../../src/gen/sax/modelet.js";
import { VisionServiceDefinition } from "../../src/gen/sax/vision.js";
import { callServerStream, openChannel, unaryClient } from "../../src/grpc/client.js";
import { grpcService } from "../../src/grpc/definitions.js";
import { startModelServer, type ModelServerHandle } from "../../src/model-server/model-server.js";
import { FAKE_PATH, FakeLoader } from "../helpers/fake-loader.js";
import { eventually, startTestAdmin, type TestAdmin } from "../helpers/test-admin.js";

const ID = "/sax/test/echo";

describe("model server in a cell", () => {
  let cell: TestAdmin;
  let loader: FakeLoader;
  let server: ModelServerHandle;
  beforeEach(async () => {
    cell = await startTestAdmin();
    loader = new FakeLoader();
    server = await startModelServer(
      { saxCell: "/sax/test", saxRoot: cell.saxRoot, port: 0, locationPollMs: 100 },
      { loader, servablePaths: [FAKE_PATH] },
    );
  });
  const loadEcho = () =>
    server.table.load({
      modelKey: ID,
      modelPath: FAKE_PATH,
      checkpointPath: "None",
      overrides: {},
      acls: {},
    });
  /** Runs GenerateStream on the echo model, handing each message to `onMessage`. */
  const streamGenerate = async (text: string, onMessage: (m: GenerateStreamResponse) => void) => {
    const channel = openChannel(server.address);
    try {
      const method = grpcService(LMServiceDefinition).generateStream;
      for await (const m of callServerStream(channel, method, { modelKey: ID, text })) onMessage(m);
    } finally {
      channel.close();
    }
  };
  afterEach(async () => {
    await server.close();
    await cell[Symbol.asyncDispose]();
  });

  it("finds the admin through location.proto and joins with its chip, topology and paths", async () => {
    await eventually(() => server.joiner?.adminAddress);
    const stats = await cell.client.stats({ modelId: "" });
    expect(stats.modelServerTypeStats).toEqual([{ chipType: 12, chipTopology: 22, numReplicas: 1 }]);
    expect(stats.numServersByServableModelPath).toEqual({ [FAKE_PATH]: 1 });
  });

  it("loads a published model and serves Generate and GenerateStream for it", async () => {
    await cell.client.publish({
      model: { modelId: ID, modelPath: FAKE_PATH, checkpointPath: "None", requestedNumReplicas: 1 },
    });
    await cell.client.waitForReady({ modelId: ID, numReplicas: 1 }, { timeoutMs: 10_000 });
    const lm = unaryClient(LMServiceDefinition, server.address);
    expect(await lm.generate({ modelKey: ID, text: "hello sax" })).toEqual({
      texts: [{ text: "HELLO SAX", score: -1.5 }],
    });
    const chunks: (string | number)[][][] = [];
    await streamGenerate("a bb ccc", (m) => chunks.push(m.items.map((i) => [i.text, i.prefixLen])));
    expect(chunks).toEqual([[["a ", 0]], [["bb ", 2]], [["ccc ", 5]]]);
    lm.close();
  });

  it("ends a failing stream with the error's code after the chunks already sent", async () => {
    await loadEcho();
    const texts: string[] = [];
    await expect(
      streamGenerate("one die two", (m) => texts.push(m.items[0]?.text ?? "")),
    ).rejects.toMatchObject({
      code: "UNAVAILABLE",
      message: "worker died mid-stream",
    });
    expect(texts).toEqual(["one "]);
  });

  it("answers NOT_FOUND for a model it does not hold and INVALID_ARGUMENT for a method it lacks", async () => {
    const lm = unaryClient(LMServiceDefinition, server.address);
    await expect(lm.generate({ modelKey: "/sax/test/none", text: "x" })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
    await loadEcho();
    await expect(lm.score({ modelKey: ID, prefix: "x", suffix: ["y"] })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    lm.close();
  });

  it("reports served calls in GetStatus method stats", async () => {
    await loadEcho();
    const lm = unaryClient(LMServiceDefinition, server.address);
    await lm.generate({ modelKey: ID, text: "a" });
    await lm.generate({ modelKey: ID, text: "b" });
    lm.close();
    const modelet = unaryClient(ModeletDefinition, server.address);
    const { models } = await modelet.getStatus({ includeMethodStats: true });
    modelet.close();
    const generate = models[0]?.methodStats.find((s) => s.method === "lm.generate");
    expect(generate).toMatchObject({ recentBatchSizes: [1, 1], pendingReqs: 0 });
    expect(generate?.successesPerSecond).toBeCloseTo(2 / 60);
  });

  it("routes VisionService calls, answering INVALID_ARGUMENT for a vision method the model lacks", async () => {
    await loadEcho();
    const vision = unaryClient(VisionServiceDefinition, server.address);
    await expect(vision.classify({ modelKey: ID, imageBytes: Buffer.from([1, 2]) })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: `${ID} does not support vm.classify`,
    });
    await expect(vision.detect({ modelKey: "/sax/test/none" })).rejects.toMatchObject({ code: "NOT_FOUND" });
    vision.close();
  });

  it("unloads the model when it is unpublished", async () => {
    await cell.client.publish({
      model: { modelId: ID, modelPath: FAKE_PATH, checkpointPath: "None", requestedNumReplicas: 1 },
    });
    await cell.client.waitForReady({ modelId: ID, numReplicas: 1 }, { timeoutMs: 10_000 });
    await cell.client.unpublish({ modelId: ID });
    await eventually(() => (loader.unloads.includes(ID) ? true : undefined));
    expect(server.table.keys()).toEqual([]);
  });

  it("shows a load failure in the admin's view and keeps serving other models", async () => {
    await cell.client.publish({
      model: {
        modelId: "/sax/test/bad",
        modelPath: "no.such.Model",
        checkpointPath: "None",
        requestedNumReplicas: 0,
      },
    });
    await server.table
      .load({
        modelKey: "/sax/test/bad",
        modelPath: "no.such.Model",
        checkpointPath: "None",
        overrides: {},
        acls: {},
      })
      .catch(() => undefined);
    await cell.client.publish({
      model: { modelId: ID, modelPath: FAKE_PATH, checkpointPath: "None", requestedNumReplicas: 1 },
    });
    await cell.client.waitForReady({ modelId: ID, numReplicas: 1 }, { timeoutMs: 10_000 });
    expect(
      server.table.statuses(true, false).find((m) => m.modelKey === "/sax/test/bad")?.failureReason,
    ).toMatch(/Could not find servable model/);
  });
});
