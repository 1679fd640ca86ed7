import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ModelServer_ChipTopology, ModelServer_ChipType } from "../../src/gen/sax/admin.js";
import { ModelStatus } from "../../src/gen/sax/common.js";
import { startFakeModelServer, type FakeModelServer } from "../helpers/fake-model-server.js";
import { eventually, FAST_TIMINGS, startTestAdmin, type TestAdmin } from "../helpers/test-admin.js";

const PATH = "saxml.server.pax.lm.params.lm_cloud.LmCloudSpmd2BTest";
const ID = "/sax/test/m";
const model = (replicas = 1) => ({
  modelId: ID,
  modelPath: PATH,
  checkpointPath: "None",
  requestedNumReplicas: replicas,
});

describe("Admin with model servers", () => {
  let cell: TestAdmin;
  const servers: FakeModelServer[] = [];
  const startServer = async (options: Parameters<typeof startFakeModelServer>[0] = {}) => {
    const server = await startFakeModelServer(options);
    servers.push(server);
    await server.join(cell.server.address, { servablePaths: [PATH] });
    return server;
  };
  beforeEach(async () => {
    cell = await startTestAdmin();
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
    await cell[Symbol.asyncDispose]();
  });

  it("counts a joined server in Stats by chip, topology and servable path", async () => {
    await startServer();
    const stats = await cell.client.stats({ modelId: "" });
    expect(stats.modelServerTypeStats).toEqual([
      {
        chipType: ModelServer_ChipType.CHIP_TYPE_CPU,
        chipTopology: ModelServer_ChipTopology.CHIP_TOPOLOGY_1,
        numReplicas: 1,
      },
    ]);
    expect(stats.numServersByServableModelPath).toEqual({ [PATH]: 1 });
  });

  it("loads a published model on a server that lists its path and reports it ready", async () => {
    const server = await startServer();
    await cell.client.publish({ model: model() });
    const load = await server.waitForCall("Load", (req) => req.modelKey === ID);
    expect(load).toMatchObject({ modelPath: PATH, checkpointPath: "None", acls: { items: {} } });
    await cell.client.waitForReady({ modelId: ID, numReplicas: 1 }, { timeoutMs: 5000 });
    const listed = await eventually(async () => {
      const [entry] = (await cell.client.list({ modelId: ID })).publishedModels;
      return entry?.model?.methodNames.length ? entry : undefined;
    });
    expect(listed.modeletAddresses).toEqual([server.address]);
    expect(listed.model?.methodNames).toEqual(["lm.generate"]);
  });

  it("never places a model on a server that does not list its path", async () => {
    const other = await startFakeModelServer();
    servers.push(other);
    await other.join(cell.server.address, { servablePaths: ["some.other.Path"] });
    await cell.client.publish({ model: model() });
    await cell.server.admin.refreshNow();
    expect(other.calls.filter((c) => c.method === "Load")).toEqual([]);
  });

  it("answers WatchLoc with the server's address, then the next change, as Saxml", async () => {
    const a = await startServer();
    await cell.client.publish({ model: model(2) });
    const first = await cell.client.watchLoc({ modelId: ID, seqno: 0 }, { timeoutMs: 5000 });
    expect(first.result).toEqual({
      nextSeqno: 1,
      hasFullset: false,
      values: [],
      changelog: [{ kind: { $case: "addition", value: a.address } }],
    });
    expect(first.adminServerId).toMatch(new RegExp(`^127\\.0\\.0\\.1:${cell.server.port}_[0-9a-f]{16}$`));
    const waiting = cell.client.watchLoc(
      { modelId: ID, seqno: 1, adminServerId: first.adminServerId },
      { timeoutMs: 5000 },
    );
    const b = await startServer();
    expect((await waiting).result?.changelog).toEqual([{ kind: { $case: "addition", value: b.address } }]);
    await cell.client.waitForReady({ modelId: ID, numReplicas: 2 }, { timeoutMs: 5000 });
    const full = await cell.client.watchLoc({ modelId: ID, seqno: 0 });
    expect(full.result).toMatchObject({ nextSeqno: 2, hasFullset: true, values: [a.address] });
    const partial = await cell.client.watchLoc({ modelId: ID, seqno: 1, adminServerId: first.adminServerId });
    expect(partial.result).toMatchObject({
      nextSeqno: 2,
      hasFullset: false,
      changelog: [{ kind: { $case: "addition", value: b.address } }],
    });
  });

  it("answers a WatchLoc from another admin incarnation as if from seqno 0", async () => {
    await startServer();
    await cell.client.publish({ model: model() });
    await cell.client.waitForReady({ modelId: ID, numReplicas: 1 }, { timeoutMs: 5000 });
    const stale = await cell.client.watchLoc({ modelId: ID, seqno: 1, adminServerId: "old-admin" });
    expect(stale.result?.nextSeqno).toBe(1);
    expect(stale.result?.changelog).toHaveLength(1);
  });

  it("prunes a dead server: a deletion reaches watchers and Stats forgets it", async () => {
    const server = await startServer();
    await cell.client.publish({ model: model() });
    await cell.client.waitForReady({ modelId: ID, numReplicas: 1 }, { timeoutMs: 5000 });
    const waiting = cell.client.watchLoc(
      { modelId: ID, seqno: 1, adminServerId: cell.server.serverId },
      { timeoutMs: 10_000 },
    );
    const killedAt = Date.now();
    await server.close();
    expect((await waiting).result?.changelog).toEqual([
      { kind: { $case: "deletion", value: server.address } },
    ]);
    expect(Date.now() - killedAt).toBeLessThan(
      FAST_TIMINGS.pruneTimeoutMs + FAST_TIMINGS.refreshIntervalMs + 1000,
    );
    expect((await cell.client.stats({ modelId: "" })).modelServerTypeStats).toEqual([]);
  });

  it("unloads an unpublished model from its server", async () => {
    const server = await startServer();
    await cell.client.publish({ model: model() });
    await cell.client.waitForReady({ modelId: ID, numReplicas: 1 }, { timeoutMs: 5000 });
    await cell.client.unpublish({ modelId: ID });
    await server.waitForCall("Unload", (req) => req.modelKey === ID);
    await eventually(() => (server.models().has(ID) ? undefined : true));
  });

  it("lets a model be published again once its unload was issued", async () => {
    await startServer();
    await cell.client.publish({ model: model() });
    await cell.client.unpublish({ modelId: ID });
    await eventually(async () => {
      try {
        await cell.client.publish({ model: model() });
        return true;
      } catch (err) {
        expect(err).toMatchObject({ code: "UNAVAILABLE" });
        return undefined;
      }
    });
  });

  it("adopts a model a joining server already has loaded, without loading it again", async () => {
    await cell.client.publish({ model: model() });
    const server = await startFakeModelServer();
    servers.push(server);
    server.preload(ID, PATH, { checkpointPath: "None" });
    await server.join(cell.server.address, { servablePaths: [PATH] });
    await cell.client.waitForReady({ modelId: ID, numReplicas: 1 }, { timeoutMs: 1000 });
    const watched = await cell.client.watchLoc({ modelId: ID, seqno: 0 }, { timeoutMs: 1000 });
    expect(watched.result?.changelog).toEqual([{ kind: { $case: "addition", value: server.address } }]);
    await server.waitForCall("UpdateLoaded", (req) => req.modelKey === ID);
    await cell.server.admin.refreshNow();
    expect(server.calls.filter((c) => c.method === "Load")).toEqual([]);
  });

  it("sends a failed load once and keeps the replica listed", async () => {
    const server = await startServer({ failLoad: () => "no such checkpoint" });
    await cell.client.publish({ model: model() });
    await server.waitForCall("Load");
    for (let i = 0; i < 3; i++) await cell.server.admin.refreshNow();
    expect(server.calls.filter((c) => c.method === "Load")).toHaveLength(1);
    expect((await cell.client.list({ modelId: ID })).publishedModels[0]?.modeletAddresses).toEqual([
      server.address,
    ]);
  });

  it("re-sends a failing unload at every refresh", async () => {
    const server = await startServer({ failUnload: () => "stuck" });
    await cell.client.publish({ model: model() });
    await cell.client.waitForReady({ modelId: ID, numReplicas: 1 }, { timeoutMs: 5000 });
    await cell.client.unpublish({ modelId: ID });
    await eventually(() =>
      server.calls.filter((c) => c.method === "Unload").length >= 3 ? true : undefined,
    );
  });

  it("unloads the loading replica first when replicas drop from 2 to 1", async () => {
    const loaded = await startServer();
    await cell.client.publish({ model: model(1) });
    await cell.client.waitForReady({ modelId: ID, numReplicas: 1 }, { timeoutMs: 5000 });
    const slow = await startServer({ loadDelayMs: 60_000 });
    await cell.client.update({ model: model(2) });
    await slow.waitForCall("Load");
    await eventually(() => (slow.models().get(ID)?.status === ModelStatus.LOADING ? true : undefined));
    await eventually(() => (cell.server.admin.servers.get(slow.address)?.seen.get(ID) ? true : undefined));
    await cell.client.update({ model: model(1) });
    await eventually(() => (cell.server.admin.assignment.get(ID)?.length === 1 ? true : undefined));
    expect(cell.server.admin.assignment.get(ID)).toEqual([loaded.address]);
    expect(loaded.calls.filter((c) => c.method === "Unload")).toEqual([]);
  });

  it("sends UpdateLoaded to assigned servers when the checkpoint changes", async () => {
    const server = await startServer();
    await cell.client.publish({ model: model() });
    await cell.client.waitForReady({ modelId: ID, numReplicas: 1 }, { timeoutMs: 5000 });
    await eventually(() => (cell.server.admin.assignment.get(ID)?.length ? true : undefined));
    await cell.client.update({ model: { ...model(), checkpointPath: "/ckpt/new" } });
    expect(
      await server.waitForCall("UpdateLoaded", (req) => req.checkpointPath === "/ckpt/new"),
    ).toMatchObject({ modelKey: ID });
  });
});
