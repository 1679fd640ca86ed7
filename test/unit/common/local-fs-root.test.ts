import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { SaxError } from "../../../src/common/errors.js";
import { GcsFsRoot } from "../../../src/common/gcs-fs-root.js";
import { LocalFsRoot } from "../../../src/common/local-fs-root.js";
import { openFsRoot } from "../../../src/common/open-fs-root.js";

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (data: Uint8Array | undefined): string | undefined =>
  data === undefined ? undefined : new TextDecoder().decode(data);

let dir: string;
let root: LocalFsRoot;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "local-fs-root-"));
  root = new LocalFsRoot(dir);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("LocalFsRoot", () => {
  it("reads back what it wrote, with the generation the write returned", async () => {
    const generation = await root.writeFile("sax/test/state.proto", bytes("v1"));

    const file = await root.readFile("sax/test/state.proto");

    expect(text(file?.data)).toBe("v1");
    expect(file?.generation).toBe(generation);
  });

  it("reads a missing file as undefined", async () => {
    expect(await root.readFile("sax/test/state.proto")).toBeUndefined();
  });

  it("tells files, directories and missing paths apart", async () => {
    await root.writeFile("sax/test/config.proto", bytes("c"));

    expect(await root.kindOf("sax/test/config.proto")).toBe("file");
    expect(await root.kindOf("sax/test")).toBe("dir");
    expect(await root.kindOf("sax/other")).toBe("missing");
    expect(await root.kindOf("sax/test/config.proto/below")).toBe("missing");
  });

  it("creates directories idempotently with their parents", async () => {
    await root.makeDir("sax/test");
    await root.makeDir("sax/test");

    expect(await root.kindOf("sax/test")).toBe("dir");
  });

  it("fails with FAILED_PRECONDITION when a file is in the way of a directory", async () => {
    await root.writeFile("sax", bytes("not a dir"));

    await expect(root.makeDir("sax/test")).rejects.toMatchObject({ code: "FAILED_PRECONDITION" });
    await expect(root.makeDir("sax")).rejects.toThrow(/cannot create directory .*sax: .*file is in the way/);
  });

  it("lists sub-directories sorted, skipping files", async () => {
    for (const name of ["b", "c", "a"]) await root.makeDir(`sax/${name}`);
    await root.writeFile("sax/file", bytes("f"));

    expect(await root.listDirs("sax")).toEqual(["a", "b", "c"]);
    expect(await root.listDirs("/sax/")).toEqual(["a", "b", "c"]);
  });

  it("lists a missing directory as empty", async () => {
    expect(await root.listDirs("nowhere")).toEqual([]);
  });

  it("rejects a stale generation with FAILED_PRECONDITION and leaves the file unchanged", async () => {
    const stale = await root.writeFile("state.proto", bytes("v1"));
    await root.writeFile("state.proto", bytes("v2"));

    const write = root.writeFile("state.proto", bytes("v3"), { ifGenerationMatch: stale });

    await expect(write).rejects.toMatchObject({ name: "SaxError", code: "FAILED_PRECONDITION" });
    await expect(write).rejects.toThrow(/expected generation .* read it again and retry/);
    expect(text((await root.readFile("state.proto"))?.data)).toBe("v2");
  });

  it("rejects a must-not-exist write when the file exists", async () => {
    await root.writeFile("state.proto", bytes("v1"));

    const write = root.writeFile("state.proto", bytes("v2"), { ifGenerationMatch: null });

    await expect(write).rejects.toMatchObject({ code: "FAILED_PRECONDITION" });
    expect(text((await root.readFile("state.proto"))?.data)).toBe("v1");
  });

  it("accepts a write at the current generation and a must-not-exist write of a new file", async () => {
    const first = await root.writeFile("state.proto", bytes("v1"), { ifGenerationMatch: null });

    const second = await root.writeFile("state.proto", bytes("v2"), { ifGenerationMatch: first });

    expect(second).not.toBe(first);
    expect(await root.readFile("state.proto")).toEqual({ data: bytes("v2"), generation: second });
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
