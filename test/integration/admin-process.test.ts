import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AdminDefinition, Config, State } from "../../src/gen/sax/admin.js";
import { unaryClient } from "../../src/grpc/client.js";
import { startFakeModelServer } from "../helpers/fake-model-server.js";
import { runBin, startAdminProcess } from "../helpers/processes.js";

describe("admin_config and admin_server processes", () => {
  let dir: string;
  let saxRoot: string;
  let fsRoot: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "sax-proc-"));
    saxRoot = join(dir, "root");
    fsRoot = join(dir, "fs");
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  const configure = () =>
    runBin("admin_config", ["--sax_cell=/sax/test", `--sax_root=${saxRoot}`, "--fs_root", fsRoot]);

  it("admin_config writes a binary Config with the default admin ACL, and can run twice", async () => {
    expect((await configure()).exitCode).toBe(0);
    expect((await configure()).exitCode).toBe(0);
    const config = Config.decode(await readFile(join(saxRoot, "sax/test/config.proto")));
    expect(config).toEqual({ fsRoot, adminAcl: "acl/all" });
  });

  it("admin_config takes the sax root from SAX_ROOT", async () => {
    const result = await runBin("admin_config", ["--sax_cell=/sax/test", `--fs_root=${fsRoot}`], {
      SAX_ROOT: saxRoot,
    });
    expect(result.exitCode).toBe(0);
    expect((await stat(join(saxRoot, "sax/test/config.proto"))).isFile()).toBe(true);
  });

  it("admin_config refuses an empty admin ACL and a bad cell", async () => {
    const emptyAcl = await runBin("admin_config", [
      "--sax_cell=/sax/test",
      `--sax_root=${saxRoot}`,
      `--fs_root=${fsRoot}`,
      "--admin_acl=",
    ]);
    expect(emptyAcl.exitCode).not.toBe(0);
    expect(emptyAcl.stderr).toMatch(/^admin_config: config must be saved with a non-empty write ACL/);
    const badCell = await runBin("admin_config", [
      "--sax_cell=/sax/Test",
      `--sax_root=${saxRoot}`,
      `--fs_root=${fsRoot}`,
    ]);
    expect(badCell.exitCode).toBe(1);
    expect(badCell.stderr).toMatch(/cell name "Test" must match/);
  });

  it("admin_config without --fs_root is a usage error", async () => {
    const result = await runBin("admin_config", ["--sax_cell=/sax/test", `--sax_root=${saxRoot}`]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/fsRoot/);
  });

  it("admin_server refuses a cell that was never configured", async () => {
    const result = await runBin("admin_server", [
      "--sax_cell=/sax/test",
      `--sax_root=${saxRoot}`,
      "--port=0",
      "--status_port=0",
    ]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/admin_server: .*is not a directory/);
  });

  it("admin_server publishes its location and creates the state folder", async () => {
    await configure();
    await using admin = await startAdminProcess(saxRoot);
    expect(admin.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect((await stat(join(fsRoot, "sax/test"))).isDirectory()).toBe(true);
  });

  it("keeps a model whose Publish returned even when the admin is SIGKILLed right after", async () => {
    await configure();
    const first = await startAdminProcess(saxRoot);
    const client = unaryClient(AdminDefinition, first.address);
    const modelPath = "saxml.server.pax.lm.params.lm_cloud.LmCloudSpmd2BTest";
    await client.publish({
      model: { modelId: "/sax/test/kept", modelPath, checkpointPath: "None", requestedNumReplicas: 1 },
    });
    await first.kill("SIGKILL");
    client.close();
    const state = State.decode(await readFile(join(fsRoot, "sax/test/state.proto")));
    expect(state.models.map((m) => [m.modelId, m.uuid.length])).toEqual([["/sax/test/kept", 16]]);

    await using second = await startAdminProcess(saxRoot);
    const again = unaryClient(AdminDefinition, second.address);
    const [listed] = (await again.list({ modelId: "" })).publishedModels;
    expect(listed?.model).toMatchObject({ modelId: "/sax/test/kept", modelPath, uuid: Buffer.alloc(0) });
    again.close();
  });

  it("gives every admin incarnation a new server id in WatchLoc answers", async () => {
    await configure();
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      // A path per incarnation: the model restored from the first one must not take the new server.
      const modelPath = `test.Path${i}`;
      await using admin = await startAdminProcess(saxRoot, [
        "--refresh_interval_ms=200",
        "--poll_interval_ms=200",
      ]);
      await using server = await startFakeModelServer();
      await server.join(admin.address, { servablePaths: [modelPath] });
      const client = unaryClient(AdminDefinition, admin.address);
      const modelId = `/sax/test/m${i}`;
      await client.publish({
        model: { modelId, modelPath, checkpointPath: "None", requestedNumReplicas: 1 },
      });
      const { adminServerId } = await client.watchLoc({ modelId, seqno: 0 }, { timeoutMs: 10_000 });
      ids.push(adminServerId);
      client.close();
    }
    expect(ids[0]).toMatch(/^127\.0\.0\.1:\d+_[0-9a-f]{16}$/);
    expect(ids[1]).toMatch(/^127\.0\.0\.1:\d+_[0-9a-f]{16}$/);
    expect(ids[0]).not.toBe(ids[1]);
  });
});
