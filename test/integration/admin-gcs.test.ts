import { afterAll, beforeAll, expect, it } from "vitest";
import { readLocation } from "../../src/common/cell-layout.js";
import { parseCellId } from "../../src/common/naming.js";
import { openFsRoot } from "../../src/common/open-fs-root.js";
import { State } from "../../src/gen/sax/admin.js";
import { startFakeGcsServer, type FakeGcsServer } from "../helpers/fake-gcs-server.js";
import { runBin } from "../helpers/processes.js";
import { startTestAdmin } from "../helpers/test-admin.js";

let gcs: FakeGcsServer;
let emulatorEnv: string | undefined;

beforeAll(async () => {
  gcs = await startFakeGcsServer({ bucket: "sax-cell" });
  emulatorEnv = process.env.STORAGE_EMULATOR_HOST;
  process.env.STORAGE_EMULATOR_HOST = `${gcs.endpoint}/storage/v1`;
}, 300_000);

afterAll(async () => {
  if (emulatorEnv === undefined) delete process.env.STORAGE_EMULATOR_HOST;
  else process.env.STORAGE_EMULATOR_HOST = emulatorEnv;
  await gcs[Symbol.asyncDispose]();
});

it("runs a cell entirely on gs:// roots: config, location and state survive an admin restart", async () => {
  const saxRoot = "gs://sax-cell/root";
  const fsRoot = "gs://sax-cell/fs";
  const configured = await runBin(
    "admin_config",
    ["--sax_cell=/sax/test", `--sax_root=${saxRoot}`, `--fs_root=${fsRoot}`],
    {
      STORAGE_EMULATOR_HOST: `${gcs.endpoint}/storage/v1`,
    },
  );
  expect(configured.exitCode, configured.stderr).toBe(0);
  const model = { modelId: "/sax/test/m", modelPath: "a.B", checkpointPath: "None", requestedNumReplicas: 0 };

  {
    await using cell = await startTestAdmin({ saxRoot, fsRoot: undefined });
    await cell.client.publish({ model });
    const root = await openFsRoot(saxRoot);
    expect(await readLocation(root, parseCellId("/sax/test"))).toBe(cell.server.address);
    const state = await (await openFsRoot(fsRoot)).readFile("sax/test/state.proto");
    expect(State.decode(state!.data).models.map((m) => m.modelId)).toEqual(["/sax/test/m"]);
  }

  await using restarted = await startTestAdmin({ saxRoot, fsRoot: undefined });
  const listed = (await restarted.client.list({ modelId: "" })).publishedModels.map((p) => p.model?.modelId);
  expect(listed).toEqual(["/sax/test/m"]);
});
