import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Config } from "../../../src/gen/sax/admin.js";
import { saxutil } from "../../helpers/saxutil.js";

// Commands that work on the sax root's files, without an admin.
describe("saxutil on a sax root", () => {
  let saxRoot: string;
  const configFile = () => join(saxRoot, "sax/test/config.proto");

  beforeEach(async () => {
    saxRoot = await mkdtemp(join(tmpdir(), "saxutil-root-"));
    await mkdir(join(saxRoot, "sax/test"), { recursive: true });
    await mkdir(join(saxRoot, "sax/alpha"), { recursive: true });
    await writeFile(configFile(), Config.encode({ fsRoot: "/tmp/fs", adminAcl: "acl/all" }).finish());
  });
  afterEach(() => rm(saxRoot, { recursive: true, force: true }));

  it("lists the cells sorted as a table, CSV or JSON", async () => {
    expect((await saxutil(["ls", "/sax"], { saxRoot })).stdout).toBe(
      "+---+-------+\n| # | CELL  |\n+---+-------+\n| 0 | alpha |\n| 1 | test  |\n+---+-------+\n",
    );
    expect((await saxutil(["ls", "-csv", "/sax"], { saxRoot })).stdout).toBe("# #,Cell\n0,alpha\n1,test\n");
    expect(JSON.parse((await saxutil(["--json", "ls", "/sax"], { saxRoot })).stdout)).toEqual({
      cells: ["alpha", "test"],
    });
  });

  it("fails `ls /sax` with exit 1 when the root has no sax folder", async () => {
    const { status, stderr } = await saxutil(["--sax_root", join(saxRoot, "nowhere"), "ls", "/sax"]);
    expect(status).toBe(1);
    expect(stderr).toMatch(/^saxutil: cannot list the cells under .*nowhere: .*is not a directory/);
  });

  it("prints a cell's admin ACL from its config", async () => {
    expect(await saxutil(["getacl", "/sax/test"], { saxRoot })).toEqual({
      status: 0,
      stdout: "acl/all\n",
      stderr: "",
    });
    expect(JSON.parse((await saxutil(["getacl", "-json", "/sax/test"], { saxRoot })).stdout)).toEqual({
      adminAcl: "acl/all",
    });
  });

  it("fails getacl of a cell with a method argument (exit 1)", async () => {
    const { status, stderr } = await saxutil(["getacl", "/sax/test", "all"], { saxRoot });
    expect(status).toBe(1);
    expect(stderr).toContain("cells have no data-method ACLs");
  });

  it.each([["acl/all"], ["bob"], [""]])(
    "refuses setacl %j on a cell and leaves config.proto as it was",
    async (acl) => {
      const before = await readFile(configFile());
      const { status, stderr } = await saxutil(["setacl", "/sax/test", acl], { saxRoot });
      expect(status).toBe(1);
      expect(stderr).toMatch(/^saxutil: cannot set the ACL of \/sax\/test \(admin_config .* rewrites it\): /);
      expect(await readFile(configFile())).toEqual(before);
    },
  );

  it("refuses to create a cell under the open-source ACL policy, pointing at admin_config, and writes nothing", async () => {
    const { status, stderr } = await saxutil(["create", "/sax/new", "/tmp/fs", "acl/all"], { saxRoot });
    expect(status).toBe(1);
    expect(stderr).toContain("admin_config --sax_cell=/sax/new --fs_root=/tmp/fs creates it");
    expect(stderr).toContain("ACL check is not supported");
    expect((await readdir(join(saxRoot, "sax"))).sort()).toEqual(["alpha", "test"]);
  });

  it("refuses to create a cell that exists", async () => {
    const { status, stderr } = await saxutil(["create", "/sax/test", "/tmp/fs", "acl/all"], { saxRoot });
    expect(status).toBe(1);
    expect(stderr).toContain("Sax cell /sax/test already exists");
  });

  it("asks before deleting a cell and stops at anything but yes", async () => {
    const { status, stdout, stderr } = await saxutil(["delete", "/sax/test"], { saxRoot, stdin: "n\n" });
    expect(status).toBe(1);
    expect(stdout).toBe("Are you sure you want to delete /sax/test? [y|n]: ");
    expect(stderr).toBe("saxutil: Deletion canceled\n");
    expect((await saxutil(["delete", "/sax/test"], { saxRoot })).status).toBe(1);
  });

  it("cannot delete a confirmed cell, says how to, and leaves it in place", async () => {
    const { status, stderr } = await saxutil(["delete", "/sax/test"], { saxRoot, stdin: "YES\n" });
    expect(status).toBe(1);
    expect(stderr).toContain(`remove ${saxRoot}/sax/test yourself`);
    expect(await readFile(configFile())).toBeDefined();
  });
});
