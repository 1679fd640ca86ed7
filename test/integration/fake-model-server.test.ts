import type { Client } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { SaxError } from "../../src/common/errors.js";
import { AdminDefinition, ModelServer_ChipType, type JoinRequest } from "../../src/gen/sax/admin.js";
import { ModelStatus } from "../../src/gen/sax/common.js";
import {
  GetStatusRequest,
  GetStatusResponse_ServerStatus_State as ServerState,
  LoadRequest,
  ModeletDefinition,
} from "../../src/gen/sax/modelet.js";
import { callUnary, openChannel } from "../../src/grpc/client.js";
import { grpcService } from "../../src/grpc/definitions.js";
import { unary } from "../../src/grpc/handlers.js";
import { startGrpcServer } from "../../src/grpc/server.js";
import { startFakeModelServer, type FakeModelServerOptions } from "../helpers/fake-model-server.js";

const modelet = grpcService(ModeletDefinition);
const KEY = "/sax/test/lm";
const PATH = "saxml.server.pax.lm.params.lm_cloud.LmCloudSpmd2BTest";

/** A fake model server plus a client channel to it, both closed on dispose. */
async function start(options: FakeModelServerOptions = {}) {
  const server = await startFakeModelServer(options);
  const client = openChannel(server.address);
  return {
    server,
    client,
    async [Symbol.asyncDispose]() {
      client.close();
      await server.close();
    },
  };
}

function load(client: Client, modelKey = KEY, checkpointPath = "None") {
  return callUnary(
    client,
    modelet.load,
    LoadRequest.fromPartial({ modelKey, modelPath: PATH, checkpointPath }),
  );
}

function getStatus(client: Client, request: Partial<GetStatusRequest> = {}, timeoutMs = 5_000) {
  return callUnary(client, modelet.getStatus, GetStatusRequest.fromPartial(request), { timeoutMs });
}

describe("fake model server", () => {
  it("reports a loaded model as LOADED with method stats and an ACTIVE backend", async () => {
    await using t = await start();
    await load(t.client);
    const status = await getStatus(t.client, { includeMethodStats: true });
    expect(status.models).toEqual([
      expect.objectContaining({
        modelKey: KEY,
        modelStatus: ModelStatus.LOADED,
        methodStats: [expect.objectContaining({ method: "lm.generate" })],
      }),
    ]);
    expect(status.serverStatus?.state).toBe(ServerState.ACTIVE);
    expect(t.server.models().get(KEY)).toMatchObject({ modelPath: PATH, checkpointPath: "None" });
  });

  it("shows LOADING while a delayed load runs", async () => {
    await using t = await start({ loadDelayMs: 300 });
    const loading = load(t.client);
    await t.server.waitForCall("Load");
    expect((await getStatus(t.client)).models[0]?.modelStatus).toBe(ModelStatus.LOADING);
    await loading;
    expect((await getStatus(t.client)).models[0]?.modelStatus).toBe(ModelStatus.LOADED);
  });

  it("treats a Load of a known key as a no-op", async () => {
    await using t = await start();
    t.server.preload(KEY, PATH, { checkpointPath: "/ckpt/1" });
    await load(t.client, KEY, "/ckpt/2");
    expect(t.server.models().get(KEY)).toMatchObject({
      status: ModelStatus.LOADED,
      checkpointPath: "/ckpt/1",
    });
  });

  it("rejects an Unload of an unknown key with INVALID_ARGUMENT", async () => {
    await using t = await start();
    const unloading = callUnary(t.client, modelet.unload, { modelKey: "/sax/test/nope" });
    await expect(unloading).rejects.toBeInstanceOf(SaxError);
    await expect(unloading).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: "/sax/test/nope not found, cannot unload.",
    });
  });

  it("unloads a known model", async () => {
    await using t = await start();
    t.server.preload(KEY, PATH);
    await callUnary(t.client, modelet.unload, { modelKey: KEY });
    expect(t.server.models().size).toBe(0);
  });

  it("marks a scripted load failure FAILED with its reason", async () => {
    await using t = await start({ failLoad: (req) => (req.modelKey === KEY ? "out of memory" : undefined) });
    await expect(load(t.client)).rejects.toMatchObject({
      code: "INTERNAL",
      message: "Loading error: out of memory",
    });
    const withReasons = await getStatus(t.client, { includeFailureReasons: true });
    expect(withReasons.models).toEqual([
      expect.objectContaining({
        modelKey: KEY,
        modelStatus: ModelStatus.FAILED,
        failureReason: "out of memory",
      }),
    ]);
    expect((await getStatus(t.client)).models[0]?.failureReason).toBe("");
  });

  it("marks a scripted unload failure FAILED and keeps the model", async () => {
    await using t = await start({ failUnload: () => ({ code: "INTERNAL", reason: "device busy" }) });
    t.server.preload(KEY, PATH);
    await expect(callUnary(t.client, modelet.unload, { modelKey: KEY })).rejects.toMatchObject({
      code: "INTERNAL",
    });
    expect(t.server.models().get(KEY)).toMatchObject({
      status: ModelStatus.FAILED,
      failureReason: "device busy",
    });
  });

  it("requires a LOADED model for an UpdateLoaded with a checkpoint", async () => {
    await using t = await start();
    const update = { modelKey: KEY, checkpointPath: "/ckpt/2", acls: { items: {} } };
    await expect(callUnary(t.client, modelet.updateLoaded, update)).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
    t.server.preload(KEY, PATH);
    await callUnary(t.client, modelet.updateLoaded, update);
    expect(t.server.models().get(KEY)?.checkpointPath).toBe("/ckpt/2");
  });

  it("resolves waitForCall for calls already received and calls still to come", async () => {
    await using t = await start();
    await load(t.client, "/sax/test/a");
    expect((await t.server.waitForCall("Load")).modelKey).toBe("/sax/test/a");
    const later = t.server.waitForCall("Load", (req) => req.modelKey === "/sax/test/b");
    await load(t.client, "/sax/test/b");
    await expect(later).resolves.toMatchObject({ modelKey: "/sax/test/b" });
    expect(t.server.calls.map((call) => call.method)).toEqual(["Load", "Load"]);
  });

  it("rejects waitForCall on timeout, naming the calls it saw", async () => {
    await using t = await start();
    await getStatus(t.client);
    const waiting = t.server.waitForCall("Unload", undefined, 50);
    await expect(waiting).rejects.toThrow(
      /no matching Unload call arrived within 50 ms \(calls so far: GetStatus\)/,
    );
  });

  it("fails GetStatus with UNAVAILABLE while paused and answers again after resume", async () => {
    await using t = await start();
    t.server.pause();
    await expect(getStatus(t.client)).rejects.toMatchObject({ code: "UNAVAILABLE" });
    t.server.resume();
    await expect(getStatus(t.client)).resolves.toMatchObject({ models: [] });
  });

  it("lets GetStatus hang past the caller's deadline when paused in hang mode", async () => {
    await using t = await start();
    t.server.pause("hang");
    await expect(getStatus(t.client, {}, 200)).rejects.toMatchObject({ code: "DEADLINE_EXCEEDED" });
  });

  it("reports DORMANT until woken up", async () => {
    await using t = await start();
    t.server.setDormant(true);
    expect((await getStatus(t.client)).serverStatus?.state).toBe(ServerState.DORMANT);
    await callUnary(t.client, modelet.wakeUp, {});
    expect((await getStatus(t.client)).serverStatus?.state).toBe(ServerState.ACTIVE);
  });

  it("refuses connections after close", async () => {
    const t = await start();
    await t.server.close();
    await expect(getStatus(t.client, {}, 2_000)).rejects.toMatchObject({ code: "UNAVAILABLE" });
    t.client.close();
  });

  it("joins an admin with its own address and a present model_server", async () => {
    await using server = await startFakeModelServer();
    server.preload(KEY, PATH);
    const joins: JoinRequest[] = [];
    // A stand-in admin that, like the real one, polls the joining server's GetStatus inside Join.
    await using admin = await startGrpcServer({
      host: "127.0.0.1",
      port: 0,
      services: [
        {
          definition: grpcService(AdminDefinition),
          implementation: {
            join: unary(async (req: JoinRequest) => {
              joins.push(req);
              const client = openChannel(req.address);
              await callUnary(client, modelet.getStatus, GetStatusRequest.fromPartial({}), {
                timeoutMs: 2_000,
              });
              client.close();
              return {};
            }),
          },
        },
      ],
    });
    await server.join(`127.0.0.1:${admin.port}`, { servablePaths: [PATH], tags: ["test"] });
    expect(joins).toHaveLength(1);
    expect(joins[0]).toMatchObject({
      address: server.address,
      modelServer: {
        chipType: ModelServer_ChipType.CHIP_TYPE_CPU,
        servableModelPaths: [PATH],
        tags: ["test"],
      },
    });
    expect(server.calls.map((call) => call.method)).toEqual(["GetStatus"]);
  });
});
