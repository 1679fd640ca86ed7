import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeModelServer, type FakeModelServer } from "../../helpers/fake-model-server.js";
import { saxutil } from "../../helpers/saxutil.js";
import { eventually, startTestAdmin, type TestAdmin } from "../../helpers/test-admin.js";

const PATH = "saxml.server.pax.lm.params.lm_cloud.LmCloudSpmd2BTest";
const METHODS = ["lm.generate", "lm.generate_stream", "lm.score"];

// Golden output of the admin commands against an in-process admin and a fake model server.
describe("saxutil admin commands", () => {
  let cell: TestAdmin;
  let server: FakeModelServer;
  const run = (...argv: string[]) => saxutil(argv, { saxRoot: cell.saxRoot });

  beforeAll(async () => {
    cell = await startTestAdmin();
    server = await startFakeModelServer({ methodNames: METHODS });
    await server.join(cell.server.address, { servablePaths: [PATH] });
    for (const name of ["b", "a"]) {
      const result = await run("publish", `/sax/test/${name}`, "unknown.Path", "None", "0");
      expect(result, result.stderr).toMatchObject({ status: 0, stdout: "", stderr: "" });
    }
  });
  afterAll(async () => {
    await server?.close();
    await cell?.[Symbol.asyncDispose]();
  });

  it("publishes with -wait, printing plain progress lines when stderr is not a terminal", async () => {
    const result = await run(
      "publish",
      "-wait",
      "/sax/test/lm2b",
      PATH,
      "None",
      "1",
      'NAME="a=b"',
      "BATCH_SIZE=4",
    );
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toMatch(
      new RegExp(
        "^waiting for 1 replica\\(s\\) of /sax/test/lm2b to load\n" +
          `(/sax/test/lm2b: assigned to ${server.address}\n)?` +
          "/sax/test/lm2b: 1/1 replicas ready after \\d+\\.\\ds\n",
      ),
    );
    const listed = JSON.parse((await run("--json", "ls", "/sax/test/lm2b")).stdout) as { model: object };
    expect(listed.model).toMatchObject({
      overrides: { NAME: '"a=b"', BATCH_SIZE: "4" },
      requestedReplicas: 1,
    });
  });

  it("redraws one progress line in place while waiting on a terminal", async () => {
    const result = await saxutil(["publish", "-wait", "/sax/test/tty", PATH, "None", "1"], {
      saxRoot: cell.saxRoot,
      tty: true,
    });
    expect(result.status, result.stderr).toBe(0);
    const redraws = result.stderr.split("\r\u001b[2K");
    expect(redraws[0]).toBe("");
    expect(redraws[1]).toMatch(/^[|/\\-] \/sax\/test\/tty: 0\/1 replicas ready, /);
    expect(redraws.at(-1)).toMatch(/^\/sax\/test\/tty: 1\/1 replicas ready after \d+\.\ds\n$/);
    expect((await run("unpublish", "/sax/test/tty")).status).toBe(0);
  });

  it("prints Saxml's tables for `ls /sax/test/lm2b` (details, then method ACLs)", async () => {
    await run("setacl", "/sax/test/lm2b", "lm.generate", "");
    const { stdout } = await eventually(async () => {
      const result = await run("ls", "/sax/test/lm2b");
      return result.stdout.includes("lm.score") ? result : undefined;
    });
    expect(stdout.replace(server.address.padEnd(25), "10.0.0.5:10001".padEnd(25))).toBe(
      [
        "+-------+-------------------------------------------------------+-----------------+---------------+---------------------------+--------------------------------+",
        "| MODEL |                      MODEL PATH                       | CHECKPOINT PATH | # OF REPLICAS | (SELECTED) REPLICAADDRESS |            METHODS             |",
        "+-------+-------------------------------------------------------+-----------------+---------------+---------------------------+--------------------------------+",
        "| lm2b  | saxml.server.pax.lm.params.lm_cloud.LmCloudSpmd2BTest | None            |             1 | 10.0.0.5:10001            | lm.generate,                   |",
        "|       |                                                       |                 |               |                           | lm.generate_stream, lm.score   |",
        "+-------+-------------------------------------------------------+-----------------+---------------+---------------------------+--------------------------------+",
        "+--------+-----+",
        "| METHOD | ACL |",
        "+--------+-----+",
        "+--------+-----+",
        "",
      ].join("\n"),
    );
  });

  it("prints one model's sections as CSV with -csv, and only the ACLs with -details=false", async () => {
    const csv = await run("ls", "-csv", "/sax/test/a");
    expect(csv.stdout).toBe(
      "# Model,Model Path,Checkpoint Path,# of Replicas,(Selected) ReplicaAddress,Methods\n" +
        "a,unknown.Path,None,0,,\n" +
        "# Method,ACL\n",
    );
    expect((await run("ls", "-details=false", "-csv", "/sax/test/a")).stdout).toBe("# Method,ACL\n");
  });

  it("lists a cell's models sorted, with methods only for an explicit -details", async () => {
    expect((await run("ls", "/sax/test")).stdout).toBe(
      "+---+----------+\n| # | MODEL ID |\n+---+----------+\n| 0 | a        |\n| 1 | b        |\n| 2 | lm2b     |\n+---+----------+\n",
    );
    expect((await run("ls", "-csv", "/sax/test")).stdout).toBe("# #,Model ID\n0,a\n1,b\n2,lm2b\n");
    expect((await run("ls", "-details=false", "-csv", "/sax/test")).stdout).toBe(
      "# #,Model ID\n0,a\n1,b\n2,lm2b\n",
    );
    expect((await run("ls", "-details", "-csv", "/sax/test")).stdout).toBe(
      "# #,Model ID,Methods\n0,a,\n1,b,\n2,lm2b,lm.generate, lm.generate_stream, lm.score\n",
    );
  });

  it("shows and changes model ACLs: getacl, setacl of a method and of the model", async () => {
    expect((await run("getacl", "/sax/test/a")).stdout).toBe("No admin ACLs set for model.\n");
    expect((await run("getacl", "/sax/test/a", "all")).stdout).toBe("No ACLs set for model.\n");
    expect((await run("setacl", "/sax/test/a", "lm.bogus", "")).status).toBe(0);
    expect((await run("getacl", "/sax/test/a", "all")).stdout).toBe("");
    expect((await run("getacl", "/sax/test/a", "lm.generate")).stdout).toBe("No ACLs set for method.\n");
    const unsupported = await run("setacl", "/sax/test/a", "lm.generate", "acl/team");
    expect(unsupported.status).toBe(1);
    expect(unsupported.stderr).toMatch(
      /^saxutil: cannot set the lm.generate ACL of \/sax\/test\/a: .*ACL check is not supported/,
    );
  });

  it("updates replicas and checkpoints, and reports bad values from the admin with exit 1", async () => {
    expect((await run("update", "-replicas=3", "/sax/test/a")).status).toBe(0);
    expect((await run("update_checkpoint", "/sax/test/a", "/ckpt/x")).status).toBe(0);
    const listed = JSON.parse((await run("--json", "ls", "/sax/test/a")).stdout) as { model: object };
    expect(listed.model).toMatchObject({ requestedReplicas: 3, checkpointPath: "/ckpt/x" });
    const bad = await run("update_checkpoint", "/sax/test/a", "a b");
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^saxutil: cannot update the checkpoint of \/sax\/test\/a: /);
  });

  it("fails for an unknown model with a hint to list the cell", async () => {
    const { status, stderr } = await run("ls", "/sax/test/nope");
    expect(status).toBe(1);
    expect(stderr).toMatch(/not published; 'saxutil ls \/sax\/test' lists the published models\n$/);
  });

  it("fails publish of a taken id with exit 1", async () => {
    const { status, stderr } = await run("publish", "/sax/test/a", "unknown.Path", "None", "0");
    expect(status).toBe(1);
    expect(stderr).toMatch(/^saxutil: cannot publish \/sax\/test\/a: /);
  });

  it("watches addresses until the model is unpublished, then exits 1", async () => {
    const watch = saxutil(["watch", "/sax/test/lm2b"], { saxRoot: cell.saxRoot });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await run("unpublish", "/sax/test/lm2b")).status).toBe(0);
    const { status, stdout, stderr } = await watch;
    expect(status).toBe(1);
    expect(stdout).toMatch(new RegExp(`^(Reset\\n)?\\+ ${server.address}\\nReset\\n$`));
    expect(stderr).toMatch(/^saxutil: watching the addresses of \/sax\/test\/lm2b failed: /);
  });

  it("names the flag to raise when a wait runs out of time", async () => {
    const { status, stderr } = await run(
      "--sax_timeout=300ms",
      "publish",
      "-wait",
      "/sax/test/two",
      PATH,
      "None",
      "2",
    );
    expect(status).toBe(1);
    expect(stderr).toMatch(
      /saxutil: \/sax\/test\/two is published, but not all 2 replica\(s\) became ready: not done within --sax_timeout=300ms.*; give it longer, e.g. saxutil --sax_timeout=600s publish …\n$/,
    );
  });
});
