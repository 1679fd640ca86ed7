import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SaxError } from "../../src/common/errors.js";
import { startTestAdmin, type TestAdmin } from "../helpers/test-admin.js";

const PATH = "saxml.server.pax.lm.params.lm_cloud.LmCloudSpmd2BTest";
const model = (modelId: string, fields: Record<string, unknown> = {}) => ({
  modelId,
  modelPath: PATH,
  checkpointPath: "None",
  requestedNumReplicas: 1,
  ...fields,
});

describe("Admin RPCs without model servers", () => {
  let cell: TestAdmin;
  beforeAll(async () => {
    cell = await startTestAdmin();
  });
  afterAll(async () => cell[Symbol.asyncDispose]());

  it.each(["/sax/test/llama-7b", "/sax/test/pi_3-14"])("publishes %s", async (id) => {
    await expect(cell.client.publish({ model: model(id) })).resolves.toEqual({});
  });

  it.each([
    "/sax/test/Foo",
    "/sax/test/_x",
    "/sax/test/42",
    "/sax/test/a.b",
    "/sax/test/",
    "/sax/test/a/b",
    "sax/test/a",
    "/Sax/test/a",
    "/sax/other/m",
  ])("rejects publishing %j with INVALID_ARGUMENT", async (id) => {
    await expect(cell.client.publish({ model: model(id) })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
  });

  it.each([
    ["model path", { modelPath: "1abc" }, "INVALID_ARGUMENT"],
    ["checkpoint", { checkpointPath: "a b" }, "INVALID_ARGUMENT"],
    ["replica count", { requestedNumReplicas: -1 }, "INVALID_ARGUMENT"],
    ["method ACL", { acls: { items: { "lm.bogus": "" } } }, "INVALID_ARGUMENT"],
    ["ACL name", { acls: { items: { "lm.generate": "acl/x" } } }, "UNIMPLEMENTED"],
  ])("rejects a bad %s", async (_what, fields, code) => {
    await expect(cell.client.publish({ model: model("/sax/test/bad", fields) })).rejects.toMatchObject({
      code,
    });
  });

  it("rejects a publish request without a model", async () => {
    await expect(cell.client.publish({})).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("answers ALREADY_EXISTS to a second publish of the same id", async () => {
    await cell.client.publish({ model: model("/sax/test/twice") });
    await expect(cell.client.publish({ model: model("/sax/test/twice") })).rejects.toMatchObject({
      code: "ALREADY_EXISTS",
    });
  });

  it("lists a published model as published, with its uuid hidden", async () => {
    await cell.client.publish({
      model: model("/sax/test/listed", { overrides: { BATCH_SIZE: "4" }, requestedNumReplicas: 0 }),
    });
    const { publishedModels } = await cell.client.list({ modelId: "/sax/test/listed" });
    expect(publishedModels).toHaveLength(1);
    expect(publishedModels[0]?.model).toMatchObject({
      ...model("/sax/test/listed"),
      requestedNumReplicas: 0,
      overrides: { BATCH_SIZE: "4" },
      methodNames: [],
    });
    expect(publishedModels[0]?.model?.uuid).toHaveLength(0);
    expect(publishedModels[0]?.modeletAddresses).toEqual([]);
  });

  it("lists every model for an empty id", async () => {
    await cell.client.publish({ model: model("/sax/test/all-a") });
    const ids = (await cell.client.list({ modelId: "" })).publishedModels.map((p) => p.model?.modelId);
    expect(ids).toEqual(expect.arrayContaining(["/sax/test/all-a", "/sax/test/listed"]));
  });

  it.each(["list", "unpublish", "waitForReady", "stats", "watchLoc"] as const)(
    "answers NOT_FOUND to %s of an unpublished id",
    async (method) => {
      const call = cell.client[method] as (req: {
        modelId: string;
        numReplicas?: number;
      }) => Promise<unknown>;
      await expect(call({ modelId: "/sax/test/never", numReplicas: 1 })).rejects.toMatchObject({
        code: "NOT_FOUND",
      });
    },
  );

  it("answers NOT_FOUND to updating an unpublished id", async () => {
    await expect(cell.client.update({ model: model("/sax/test/never") })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
  });

  it("updates checkpoint and replicas but refuses a new model path", async () => {
    await cell.client.publish({ model: model("/sax/test/upd") });
    await expect(
      cell.client.update({ model: model("/sax/test/upd", { modelPath: "other.Path" }) }),
    ).rejects.toThrow(
      expect.objectContaining({
        code: "INVALID_ARGUMENT",
        message: "invalid model update: model path can't be changed",
      }),
    );
    await cell.client.update({
      model: model("/sax/test/upd", { checkpointPath: "/ckpt/2", requestedNumReplicas: 3 }),
    });
    const listed = (await cell.client.list({ modelId: "/sax/test/upd" })).publishedModels[0]?.model;
    expect([listed?.checkpointPath, listed?.requestedNumReplicas]).toEqual(["/ckpt/2", 3]);
  });

  it("unpublishes: the model is gone from List at once", async () => {
    await cell.client.publish({ model: model("/sax/test/gone") });
    await cell.client.unpublish({ modelId: "/sax/test/gone" });
    await expect(cell.client.list({ modelId: "/sax/test/gone" })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
  });

  it("returns WaitForReady at once for zero replicas and times out for more", async () => {
    await cell.client.publish({ model: model("/sax/test/wait") });
    await expect(cell.client.waitForReady({ modelId: "/sax/test/wait", numReplicas: 0 })).resolves.toEqual(
      {},
    );
    await expect(
      cell.client.waitForReady({ modelId: "/sax/test/wait", numReplicas: 1 }, { timeoutMs: 300 }),
    ).rejects.toMatchObject({
      code: "DEADLINE_EXCEEDED",
    });
  });

  it("fails a waiting WaitForReady with CANCELLED when the model is unpublished", async () => {
    await cell.client.publish({ model: model("/sax/test/wait-cancel") });
    const waiting = expect(
      cell.client.waitForReady({ modelId: "/sax/test/wait-cancel", numReplicas: 1 }),
    ).rejects.toMatchObject({
      code: "CANCELLED",
    });
    await new Promise((r) => setTimeout(r, 100));
    await cell.client.unpublish({ modelId: "/sax/test/wait-cancel" });
    await waiting;
  });

  it("blocks WatchLoc on a model with no server until the deadline", async () => {
    await cell.client.publish({ model: model("/sax/test/watch") });
    await expect(
      cell.client.watchLoc({ modelId: "/sax/test/watch", seqno: 0 }, { timeoutMs: 300 }),
    ).rejects.toMatchObject({
      code: "DEADLINE_EXCEEDED",
    });
  });

  it("rejects WatchLoc with a negative seqno", async () => {
    await expect(cell.client.watchLoc({ modelId: "/sax/test/watch", seqno: -1 })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
  });

  it("answers a waiting WatchLoc with an empty full set when the model is unpublished", async () => {
    await cell.client.publish({ model: model("/sax/test/watch-gone") });
    const waiting = cell.client.watchLoc({ modelId: "/sax/test/watch-gone", seqno: 0 });
    await new Promise((r) => setTimeout(r, 100));
    await cell.client.unpublish({ modelId: "/sax/test/watch-gone" });
    expect((await waiting).result).toEqual({ nextSeqno: 0, hasFullset: true, values: [], changelog: [] });
  });

  it("rejects Join without an address or without model_server", async () => {
    await expect(cell.client.join({ address: "", modelServer: {} })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    await expect(cell.client.join({ address: "127.0.0.1:1" })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
  });

  it("fails a Join whose server cannot be reached, registering nothing", async () => {
    const failure: unknown = await cell.client
      .join({ address: "127.0.0.1:1", modelServer: {} })
      .catch((err: unknown) => err);
    expect(["UNAVAILABLE", "DEADLINE_EXCEEDED"]).toContain((failure as SaxError).code);
    expect((await cell.client.stats({ modelId: "" })).modelServerTypeStats).toEqual([]);
  });
});
