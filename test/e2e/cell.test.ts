import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminDefinition } from "../../src/gen/sax/admin.js";
import { ModelStatus } from "../../src/gen/sax/common.js";
import { LMServiceDefinition } from "../../src/gen/sax/lm.js";
import { ModeletDefinition } from "../../src/gen/sax/modelet.js";
import { callServerStream, openChannel, unaryClient } from "../../src/grpc/client.js";
import { grpcService } from "../../src/grpc/definitions.js";
import {
  runBin,
  startModelServerProcess,
  startProcessCell,
  type AdminProcess,
  type ModelServerProcess,
  type ProcessCell,
} from "../helpers/processes.js";
import { eventually } from "../helpers/test-admin.js";

const ID = "/sax/test/echo";

describe("a whole cell of real processes", () => {
  let dir: string;
  let cell: ProcessCell;
  let admin: AdminProcess;
  let server: ModelServerProcess;
  let adminClient: ReturnType<typeof unaryClient<typeof AdminDefinition>>;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sax-cell-"));
    cell = await startProcessCell(dir, {
      adminArgs: ["--refresh_interval_ms=500", "--poll_interval_ms=300", "--prune_timeout_ms=3000"],
    });
    ({ admin, server } = cell);
    adminClient = unaryClient(AdminDefinition, admin.address);
    await adminClient.publish({
      model: { modelId: ID, modelPath: "saxts.test.Echo", checkpointPath: "None", requestedNumReplicas: 1 },
    });
    await adminClient.waitForReady({ modelId: ID, numReplicas: 1 }, { timeoutMs: 30_000 });
  }, 60_000);
  afterAll(async () => {
    adminClient.close();
    await cell?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("answers Generate, Score and Embed computed by the Python worker", async () => {
    const lm = unaryClient(LMServiceDefinition, server.address);
    const generated = await lm.generate({ modelKey: ID, text: "hello cell" });
    expect(generated.texts.length).toBeGreaterThan(0);
    expect(generated.texts[0]?.text).not.toBe("");
    expect((await lm.score({ modelKey: ID, prefix: "a", suffix: ["b", "cc"] })).logp).toHaveLength(2);
    expect((await lm.embed({ modelKey: ID, text: "abc" })).embedding.length).toBeGreaterThan(0);
    lm.close();
  });

  it("streams GenerateStream in several chunks with growing prefix lengths", async () => {
    const channel = openChannel(server.address);
    const items = [];
    for await (const message of callServerStream(channel, grpcService(LMServiceDefinition).generateStream, {
      modelKey: ID,
      text: "one two three",
    })) {
      items.push(message.items[0]);
    }
    channel.close();
    expect(items.length).toBeGreaterThan(1);
    let sent = 0;
    for (const item of items) {
      expect(item?.prefixLen).toBe(sent);
      sent += [...(item?.text ?? "")].length;
    }
  });

  it("survives a SIGKILLed worker: the stream fails UNAVAILABLE, the model comes back LOADED and serves", async () => {
    const channel = openChannel(server.address);
    const stream = callServerStream(channel, grpcService(LMServiceDefinition).generateStream, {
      modelKey: ID,
      text: "a b c d e f g h",
      extraInputs: { items: { delay_ms: 300 }, tensors: {}, strings: {} },
    });
    const failure = (async () => {
      let killed = false;
      for await (const message of stream) {
        expect(message.items).toHaveLength(1);
        if (!killed) process.kill(workerPid(server.stderr()), "SIGKILL");
        killed = true;
      }
    })();
    await expect(failure).rejects.toMatchObject({ code: "UNAVAILABLE" });
    channel.close();
    const modelet = unaryClient(ModeletDefinition, server.address);
    await eventually(
      async () => {
        const { models } = await modelet.getStatus({});
        return models.find((m) => m.modelKey === ID)?.modelStatus === ModelStatus.LOADED ? true : undefined;
      },
      30_000,
      "the model to be LOADED again",
    );
    modelet.close();
    const lm = unaryClient(LMServiceDefinition, server.address);
    expect((await lm.generate({ modelKey: ID, text: "again" })).texts.length).toBeGreaterThan(0);
    lm.close();
  });

  it("serves saxts.lm.TinyLlama: text generated and scored by JAX in the worker", async () => {
    const id = "/sax/test/tiny";
    await adminClient.publish({
      model: {
        modelId: id,
        modelPath: "saxts.lm.TinyLlama",
        checkpointPath: "None",
        requestedNumReplicas: 1,
      },
    });
    await adminClient.waitForReady({ modelId: id, numReplicas: 1 }, { timeoutMs: 90_000 });
    const lm = unaryClient(LMServiceDefinition, server.address);
    const first = await lm.generate({ modelKey: id, text: "Hello" });
    expect(first.texts).toHaveLength(1);
    expect(first.texts[0]?.score).toBeLessThan(0);
    expect(await lm.generate({ modelKey: id, text: "Hello" })).toEqual(first);
    const { logp } = await lm.score({ modelKey: id, prefix: "Hello", suffix: [" world"] });
    expect(logp).toHaveLength(1);
    expect(logp[0]).toBeLessThan(0);
    await expect(lm.score({ modelKey: id, prefix: "Hello", suffix: ["a", "b"] })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    expect((await lm.embed({ modelKey: id, text: "Hello" })).embedding).toHaveLength(256);
    const channel = openChannel(server.address);
    let streamed = "";
    let chunks = 0;
    const request = { modelKey: id, text: "Hello" };
    for await (const m of callServerStream(
      channel,
      grpcService(LMServiceDefinition).generateStream,
      request,
    )) {
      streamed = streamed.slice(0, m.items[0]?.prefixLen) + (m.items[0]?.text ?? "");
      chunks += 1;
    }
    channel.close();
    expect(chunks).toBeGreaterThan(1);
    expect(streamed).toBe(first.texts[0]?.text);
    lm.close();
  }, 120_000);

  it("fails Load of a malformed checkpoint path with the reason in GetStatus", async () => {
    const modelet = unaryClient(ModeletDefinition, server.address);
    const checkpointPath = "/no/such/checkpoint_00000000";
    const load = modelet.load({
      modelKey: "/sax/test/no-ckpt",
      modelPath: "saxts.lm.TinyLlama",
      checkpointPath,
    });
    await expect(load).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    const { models } = await modelet.getStatus({ includeFailureReasons: true });
    const entry = models.find((m) => m.modelKey === "/sax/test/no-ckpt");
    expect(entry?.modelStatus).toBe(ModelStatus.FAILED);
    expect(entry?.failureReason).toContain(checkpointPath);
    modelet.close();
  }, 60_000);

  it("fails Load of an unknown class path with a clear reason in GetStatus, and keeps serving", async () => {
    const modelet = unaryClient(ModeletDefinition, server.address);
    await expect(
      modelet.load({ modelKey: "/sax/test/bad", modelPath: "no.such.Model", checkpointPath: "None" }),
    ).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: "Could not find servable model no.such.Model",
    });
    const { models } = await modelet.getStatus({ includeFailureReasons: true });
    expect(models.find((m) => m.modelKey === "/sax/test/bad")).toMatchObject({
      modelStatus: ModelStatus.FAILED,
      failureReason: "Could not find servable model no.such.Model",
    });
    await expect(
      modelet.load({
        modelKey: "/sax/test/bad-override",
        modelPath: "saxts.test.Echo",
        checkpointPath: "None",
        overrides: { TOP_K: "1.5" },
      }),
    ).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    modelet.close();
    const lm = unaryClient(LMServiceDefinition, server.address);
    expect((await lm.generate({ modelKey: ID, text: "still here" })).texts.length).toBeGreaterThan(0);
    lm.close();
  });
});

/** The pid of the most recently started worker, from the model server's log. */
function workerPid(stderr: string): number {
  const pids = [...stderr.matchAll(/: worker .*pid (\d+)/g)].map((m) => Number(m[1]));
  const pid = pids.at(-1);
  if (pid === undefined) throw new Error(`no worker pid in the model server log:\n${stderr}`);
  return pid;
}

it("model_server --admin_port runs the cell's admin in the same process and serves through it", async () => {
  const dir = await mkdtemp(join(tmpdir(), "sax-embedded-"));
  try {
    const saxRoot = join(dir, "root");
    await runBin("admin_config", [
      "--sax_cell=/sax/test",
      `--sax_root=${saxRoot}`,
      `--fs_root=${join(dir, "fs")}`,
    ]);
    await using server = await startModelServerProcess(saxRoot, ["--admin_port=0", "--location_poll_ms=200"]);
    const address = /admin for \/sax\/test serving at (\S+)/.exec(server.stderr())?.[1] ?? "";
    const admin = unaryClient(AdminDefinition, address);
    await admin.publish({
      model: { modelId: ID, modelPath: "saxts.test.Echo", checkpointPath: "None", requestedNumReplicas: 1 },
    });
    await admin.waitForReady({ modelId: ID, numReplicas: 1 }, { timeoutMs: 30_000 });
    const { publishedModels } = await admin.list({ modelId: ID });
    expect(publishedModels[0]?.modeletAddresses).toEqual([server.address]);
    admin.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 60_000);
