import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Sax, type SaxAdmin } from "../../src/client/index.js";
import { CELL, echoSpec, startClientCell, type ClientCell } from "../helpers/client-cell.js";
import { FAKE_PATH } from "../helpers/fake-loader.js";
import { rejection } from "../helpers/sax-error.js";

const ID = "/sax/test/echo";

describe("the admin facet against a cell", () => {
  let cell: ClientCell;
  let admin: SaxAdmin;
  beforeEach(async () => {
    cell = await startClientCell();
    admin = cell.sax.admin(CELL);
  });
  afterEach(() => cell[Symbol.asyncDispose]());

  it("publishes a model, lists it, and unpublishes it", async () => {
    await admin.publish({ ...echoSpec(ID, 0), overrides: { BATCH_SIZE: "4" } });
    const listed = await admin.list(ID);
    expect(listed).toEqual({
      modelId: ID,
      modelPath: FAKE_PATH,
      checkpointPath: "None",
      numReplicas: 0,
      overrides: { BATCH_SIZE: "4" },
      adminAcl: "",
      dataAcls: undefined,
      methodNames: [],
      modeletAddresses: [],
    });
    expect((await admin.listAll()).map((m) => m.modelId)).toEqual([ID]);
    await admin.unpublish(ID);
    await expect(admin.list(ID)).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(await admin.listAll()).toEqual([]);
  });

  it("fails a second publish of the same id with ALREADY_EXISTS", async () => {
    await admin.publish(echoSpec(ID, 0));
    await expect(admin.publish(echoSpec(ID, 0))).rejects.toMatchObject({ code: "ALREADY_EXISTS" });
  });

  it("updates only the fields given and keeps the others", async () => {
    await admin.publish({ ...echoSpec(ID, 0), overrides: { BATCH_SIZE: "4" } });
    await admin.update({ modelId: ID, numReplicas: 1, checkpointPath: "/ckpt/2" });
    expect(await admin.list(ID)).toMatchObject({
      numReplicas: 1,
      checkpointPath: "/ckpt/2",
      overrides: { BATCH_SIZE: "4" },
    });
    await expect(admin.update({ modelId: ID, modelPath: "other.Path" })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
  });

  it("waits for the replicas to load, then lists their addresses and the methods they serve", async () => {
    await admin.publish(echoSpec(ID));
    await admin.waitForReady(ID, 1, { timeoutMs: 10_000 });
    const address = cell.servers[0]?.address;
    expect((await admin.list(ID)).modeletAddresses).toEqual([address]);
  });

  it("fails waitForReady with DEADLINE_EXCEEDED when the replicas cannot load in time", async () => {
    await admin.publish(echoSpec(ID, 2));
    await expect(admin.waitForReady(ID, 2, { timeoutMs: 300 })).rejects.toMatchObject({
      code: "DEADLINE_EXCEEDED",
    });
  });

  it("watches the address set: the replica, then an empty set and NOT_FOUND once unpublished", async () => {
    await admin.publish(echoSpec(ID));
    const addresses = admin.watch(ID, { timeoutMs: 10_000 })[Symbol.asyncIterator]();
    expect((await addresses.next()).value).toEqual([cell.servers[0]?.address]);
    const next = addresses.next();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await admin.unpublish(ID);
    expect((await next).value).toEqual([]);
    await expect(addresses.next()).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("yields the raw WatchLoc updates", async () => {
    await admin.publish(echoSpec(ID));
    for await (const update of admin.watchUpdates(ID, { timeoutMs: 10_000 })) {
      expect(update).toEqual({
        fullSet: undefined,
        changes: [{ kind: "add", address: cell.servers[0]?.address }],
      });
      break;
    }
  });

  it("reports the servers of the cell and of one model in stats", async () => {
    await admin.publish(echoSpec(ID));
    await admin.waitForReady(ID, 1, { timeoutMs: 10_000 });
    const expected = {
      serverTypes: [{ chipType: "CHIP_TYPE_CPU", chipTopology: "CHIP_TOPOLOGY_1", numReplicas: 1 }],
      serversByServablePath: { [FAKE_PATH]: 1 },
    };
    expect(await admin.stats()).toEqual(expected);
    expect(await admin.stats(ID)).toEqual(expected);
  });

  it("gets and sets the model's ACLs", async () => {
    await admin.publish(echoSpec(ID, 0));
    expect(await admin.getAcl(ID)).toEqual({ adminAcl: "", dataAcls: undefined });
    await admin.setAcl(ID, "", { method: "lm.generate" });
    expect(await admin.getAcl(ID)).toEqual({ adminAcl: "", dataAcls: {} });
    await expect(admin.setAcl(ID, "acl/team")).rejects.toMatchObject({ code: "UNIMPLEMENTED" });
    await expect(admin.setAcl(ID, "team", { method: "lm.generate" })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    expect(await admin.cellAcl()).toBe("acl/all");
  });

  it("reports the admin's address from location.proto", async () => {
    expect(await admin.adminAddress()).toBe(cell.admin.server.address);
  });

  it("rejects model ids of another cell before any RPC", async () => {
    const err = await rejection(admin.publish(echoSpec("/sax/other/m")));
    expect(err.code).toBe("INVALID_ARGUMENT");
    expect(err.message).toMatch(/must be within SAX cell "\/sax\/test"/);
    expect(() => cell.sax.admin("/sax/Bad")).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });
});

describe("a client without a usable cell", () => {
  it("fails with INVALID_ARGUMENT when no sax root is given", async () => {
    const saved = process.env.SAX_ROOT;
    delete process.env.SAX_ROOT;
    const sax = new Sax();
    try {
      const err = await rejection(sax.admin(CELL).listAll());
      expect(err.code).toBe("INVALID_ARGUMENT");
      expect(err.message).toMatch(/no sax root: pass SaxClientOptions.saxRoot or set/);
    } finally {
      process.env.SAX_ROOT = saved;
      await sax.close();
    }
  });

  it("fails with FAILED_PRECONDITION for a cell that does not exist", async () => {
    const sax = new Sax({ saxRoot: "/nonexistent/sax-root" });
    await expect(sax.admin(CELL).listAll({ timeoutMs: 2000 })).rejects.toMatchObject({
      code: "FAILED_PRECONDITION",
    });
    await sax.close();
  });
});
