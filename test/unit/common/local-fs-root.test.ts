import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { SaxError } from "../../../src/common/errors.js";
import { GcsFsRoot } from "../../../src/common/gcs-fs-root.js";
import { LocalFsRoot } from "../../../src/common/local-fs-root.js";
import { openFsRoot } from "../../../src/common/open-fs-root.js";
import { bytes, describeFsRootContract } from "../../helpers/fs-root-contract.js";

let dir: string;
let root: LocalFsRoot;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "local-fs-root-"));
  root = new LocalFsRoot(dir);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describeFsRootContract("LocalFsRoot", () => new LocalFsRoot(dir));

describe("LocalFsRoot", () => {
  it("names both generations when a compare-and-swap write is stale", async () => {
    const stale = await root.writeFile("state.proto", bytes("v1"));
    await root.writeFile("state.proto", bytes("v2"));

    await expect(root.writeFile("state.proto", bytes("v3"), { ifGenerationMatch: stale })).rejects.toThrow(
      /expected generation .* but it is at generation .*; read it again and retry/,
    );
  });

  it("leaves no temp files behind, also after a rejected write", async () => {
    const generation = await root.writeFile("sax/state.proto", bytes("v1"));
    await root.writeFile("sax/state.proto", bytes("v2"), { ifGenerationMatch: generation });
    await root.writeFile("sax/state.proto", bytes("v3"), { ifGenerationMatch: generation }).catch(() => {});

    expect(await readdir(join(dir, "sax"))).toEqual(["state.proto"]);
  });

  it("leaves one complete version after concurrent writes", async () => {
    const versions = Array.from({ length: 20 }, (_, i) => new Uint8Array(64 * 1024).fill(i));

    await Promise.all(versions.map((data) => root.writeFile("state.proto", data)));

    const file = await root.readFile("state.proto");
    expect(versions).toContainEqual(file?.data);
    expect(await readdir(dir)).toEqual(["state.proto"]);
  });

  it("lets exactly one of concurrent writes at the same generation win", async () => {
    const generation = await root.writeFile("state.proto", bytes("v0"));

    const results = await Promise.allSettled(
      ["a", "b", "c", "d"].map((v) =>
        root.writeFile("state.proto", bytes(v), { ifGenerationMatch: generation }),
      ),
    );

    expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(1);
  });

  it("creates files with mode 0644 and directories with mode 0777, less the umask", async () => {
    await root.writeFile("sax/state.proto", bytes("v1"));
    const umask = process.umask();

    expect((await stat(join(dir, "sax/state.proto"))).mode & 0o777).toBe(0o644 & ~umask);
    expect((await stat(join(dir, "sax"))).mode & 0o777).toBe(0o777 & ~umask);
  });

  it("rejects paths that escape the root with INVALID_ARGUMENT", async () => {
    await expect(root.readFile("../etc/passwd")).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(root.writeFile("sax/../../x", bytes("x"))).rejects.toThrow(/"\.\." could escape the root/);
    expect(await readdir(dir)).toEqual([]);
  });
});

describe("openFsRoot", () => {
  it("opens gs:// urls on GCS and anything else as a local folder", async () => {
    expect(await openFsRoot("gs://bucket/sax")).toBeInstanceOf(GcsFsRoot);
    expect(await openFsRoot("/gcs/bucket/sax")).toBeInstanceOf(LocalFsRoot);
    expect((await openFsRoot(dir)).url).toBe(dir);
  });

  it("rejects an empty url and a gs:// url without a bucket", async () => {
    for (const url of ["", "gs://", "gs:///sax", "gs://No_Caps/sax"]) {
      await expect(openFsRoot(url), url).rejects.toThrow(SaxError);
      await expect(openFsRoot(url), url).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    }
  });
});
