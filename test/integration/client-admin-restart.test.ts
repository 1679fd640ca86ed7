import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { startAdminServer, type AdminServerHandle } from "../../src/admin/admin-server.js";
import { Sax } from "../../src/client/index.js";
import { startModelServer, type ModelServerHandle } from "../../src/model-server/model-server.js";
import { CELL, echoSpec } from "../helpers/client-cell.js";
import { FAKE_PATH, FakeLoader } from "../helpers/fake-loader.js";
import { causeCode, rejection } from "../helpers/sax-error.js";
import { FAST_TIMINGS } from "../helpers/test-admin.js";

const ID = "/sax/test/echo";

let dir: string;
let saxRoot: string;
let admin: AdminServerHandle | undefined;
let server: ModelServerHandle | undefined;
let sax: Sax;

/** Starts an admin for the cell on a fresh port, keeping its state in the same folders. */
const startAdmin = async () => {
  admin = await startAdminServer({
    saxCell: CELL,
    saxRoot,
    fsRoot: join(dir, "fs"),
    port: 0,
    statusPort: 0,
    ...FAST_TIMINGS,
  });
  return admin;
};

beforeEach(async () => {
  process.env.SAX_DEBUG_IPADDR = "1";
  dir = await mkdtemp(join(tmpdir(), "sax-client-restart-"));
  saxRoot = join(dir, "root");
  sax = new Sax({ saxRoot });
});

afterEach(async () => {
  await sax.close();
  await server?.close();
  await admin?.close();
  await rm(dir, { recursive: true, force: true });
});

it("follows an admin restarted on a new port, also for a call waiting while none runs", async () => {
  const first = await startAdmin();
  await sax.admin(CELL).publish(echoSpec(ID, 0));
  await first.close();
  // Issued while no admin runs: it retries UNAVAILABLE, re-reading location.proto each time.
  const listing = sax.admin(CELL).listAll({ timeoutMs: 10_000 });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const second = await startAdmin();
  expect(second.address).not.toBe(first.address);
  expect((await listing).map((m) => m.modelId)).toEqual([ID]);
  expect(await sax.admin(CELL).adminAddress()).toBe(second.address);
});

it("fails with DEADLINE_EXCEEDED while the admin stays down", async () => {
  await (await startAdmin()).close();
  const err = await rejection(sax.admin(CELL).listAll({ timeoutMs: 300 }));
  expect(err.code).toBe("DEADLINE_EXCEEDED");
  expect(causeCode(err)).toBe("UNAVAILABLE");
});

it("keeps serving data calls from the cached addresses while the admin restarts", async () => {
  await startAdmin();
  server = await startModelServer(
    { saxCell: CELL, saxRoot, port: 0, locationPollMs: 100 },
    { loader: new FakeLoader(), servablePaths: [FAKE_PATH] },
  );
  await sax.admin(CELL).publish(echoSpec(ID));
  const lm = sax.model(ID).lm;
  expect(await lm.generate("before", { timeoutMs: 10_000 })).toEqual([{ text: "BEFORE", score: -1.5 }]);
  await admin?.close();
  expect(await lm.generate("during", { timeoutMs: 5_000 })).toEqual([{ text: "DURING", score: -1.5 }]);
  await startAdmin();
  await sax.admin(CELL).waitForReady(ID, 1, { timeoutMs: 10_000 });
  expect(await lm.generate("after", { timeoutMs: 5_000 })).toEqual([{ text: "AFTER", score: -1.5 }]);
});
