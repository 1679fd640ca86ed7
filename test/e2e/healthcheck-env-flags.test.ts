import { access, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../helpers/ports.js";
import { runBin, startProcessCell, type ProcessCell } from "../helpers/processes.js";

// What the Docker images rely on: flags from SAX_<FLAG> variables, and sax_healthcheck as HEALTHCHECK.
describe("sax_healthcheck and flags from the environment", () => {
  let dir: string;
  let cell: ProcessCell;
  const portOf = (address: string) => address.split(":").at(-1) ?? "";

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sax-health-"));
    cell = await startProcessCell(dir);
  }, 60_000);
  afterAll(async () => {
    await cell?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("admin_config takes its flags from SAX_CELL, SAX_ROOT and SAX_FS_ROOT", async () => {
    const root = join(dir, "env-root");
    const written = await runBin("admin_config", [], {
      SAX_CELL: "/sax/envcell",
      SAX_ROOT: root,
      SAX_FS_ROOT: join(dir, "env-fs"),
    });
    expect(written.exitCode, written.stderr).toBe(0);
    await access(join(root, "sax/envcell/config.proto"));
  });

  it("a flag on the command line wins over its variable", async () => {
    const written = await runBin("admin_config", ["--sax_cell=/sax/flagcell"], {
      SAX_CELL: "/sax/envcell",
      SAX_ROOT: join(dir, "env-root"),
      SAX_FS_ROOT: join(dir, "env-fs"),
    });
    expect(written.exitCode, written.stderr).toBe(0);
    await access(join(dir, "env-root/sax/flagcell/config.proto"));
  });

  it("answers 0 for a serving admin and model server", async () => {
    const admin = await runBin("sax_healthcheck", ["admin_server", `--port=${portOf(cell.admin.address)}`]);
    expect(admin.exitCode, admin.stderr).toBe(0);
    const server = await runBin("sax_healthcheck", ["model_server"], {
      SAX_PORT: portOf(cell.server.address),
    });
    expect(server.exitCode, server.stderr).toBe(0);
  });

  it("answers 1 with the reason when nothing serves the port, 2 for bad usage", async () => {
    const down = await runBin("sax_healthcheck", ["model_server", `--port=${await freePort()}`]);
    expect(down.exitCode).toBe(1);
    expect(down.stderr).toMatch(/^sax_healthcheck: .*ECONNREFUSED/);
    const noPort = await runBin("sax_healthcheck", ["model_server"]);
    expect(noPort.exitCode).toBe(2);
    expect(noPort.stderr).toBe("sax_healthcheck: model_server needs --port (or SAX_PORT)");
    const unknown = await runBin("sax_healthcheck", ["proxy"]);
    expect(unknown.exitCode).toBe(2);
  });
});
