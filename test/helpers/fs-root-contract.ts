/**
 * The behaviour every FsRoot implementation shares, written once and run by each implementation's test
 * file against its own roots. What only one implementation promises (temp files and modes of local roots,
 * METADATA markers on GCS, the exact wording of their errors) stays in that implementation's tests.
 */
import { beforeEach, describe, expect, it } from "vitest";

import type { FsRoot } from "../../src/common/fs-root.js";

/** UTF-8 bytes of `text`. */
export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** `data` decoded as UTF-8; `undefined` stays `undefined`, so a missing file reads as such. */
export const text = (data: Uint8Array | undefined): string | undefined =>
  data === undefined ? undefined : new TextDecoder().decode(data);

/** Hands each test the root opened for it. */
type CurrentRoot = () => FsRoot;

/**
 * Registers the FsRoot contract tests in a `describe` block named after the implementation.
 *
 * @param name the implementation under test, e.g. `"LocalFsRoot"`
 * @param openRoot opens a fresh, empty root; called before each test
 */
export function describeFsRootContract(name: string, openRoot: () => FsRoot | Promise<FsRoot>): void {
  describe(`${name} (FsRoot contract)`, () => {
    let root: FsRoot | undefined;
    beforeEach(async () => {
      root = await openRoot();
    });
    const current: CurrentRoot = () => {
      if (root === undefined) throw new Error(`no ${name} was opened for this test`);
      return root;
    };

    fileContract(current);
    directoryContract(current);
    compareAndSwapContract(current);
  });
}

function fileContract(current: CurrentRoot): void {
  it("reads back what it wrote, with the generation the write returned", async () => {
    const generation = await current().writeFile("sax/test/state.proto", bytes("v1"));

    const file = await current().readFile("sax/test/state.proto");

    expect(text(file?.data)).toBe("v1");
    expect(file?.generation).toBe(generation);
  });

  it("reads a missing file as undefined", async () => {
    expect(await current().readFile("sax/test/state.proto")).toBeUndefined();
  });

  it("tells files, directories and missing paths apart", async () => {
    const root = current();
    await root.writeFile("sax/test/config.proto", bytes("c"));

    expect(await root.kindOf("sax/test/config.proto")).toBe("file");
    expect(await root.kindOf("sax/test")).toBe("dir");
    expect(await root.kindOf("")).toBe("dir");
    expect(await root.kindOf("sax/other")).toBe("missing");
    expect(await root.kindOf("sax/test/config.proto/below")).toBe("missing");
  });
}

function directoryContract(current: CurrentRoot): void {
  it("creates directories idempotently with their parents", async () => {
    const root = current();
    await root.makeDir("sax/test");
    await root.makeDir("sax/test");

    expect(await root.kindOf("sax/test")).toBe("dir");
    expect(await root.kindOf("sax")).toBe("dir");
  });

  it("fails with FAILED_PRECONDITION when a file is in the way of a directory", async () => {
    const root = current();
    await root.writeFile("sax", bytes("not a dir"));

    await expect(root.makeDir("sax/test")).rejects.toMatchObject({
      name: "SaxError",
      code: "FAILED_PRECONDITION",
    });
    await expect(root.makeDir("sax")).rejects.toThrow(/cannot create directory .*sax: .*file is in the way/);
  });

  it("lists sub-directories sorted, skipping files", async () => {
    const root = current();
    for (const name of ["b", "c", "a"]) await root.makeDir(`sax/${name}`);
    await root.writeFile("sax/file", bytes("f"));

    expect(await root.listDirs("sax")).toEqual(["a", "b", "c"]);
    expect(await root.listDirs("/sax/")).toEqual(["a", "b", "c"]);
  });

  it("lists a missing directory as empty", async () => {
    expect(await current().listDirs("nowhere")).toEqual([]);
  });
}

function compareAndSwapContract(current: CurrentRoot): void {
  it("rejects a stale generation with FAILED_PRECONDITION and leaves the file unchanged", async () => {
    const root = current();
    const stale = await root.writeFile("state.proto", bytes("v1"));
    await root.writeFile("state.proto", bytes("v2"));

    const write = root.writeFile("state.proto", bytes("v3"), { ifGenerationMatch: stale });

    await expect(write).rejects.toMatchObject({ name: "SaxError", code: "FAILED_PRECONDITION" });
    await expect(write).rejects.toThrow(/cannot write .*state\.proto: .*read it again and retry/);
    expect(text((await root.readFile("state.proto"))?.data)).toBe("v2");
  });

  it("rejects a must-not-exist write when the file exists", async () => {
    const root = current();
    await root.writeFile("state.proto", bytes("v1"));

    const write = root.writeFile("state.proto", bytes("v2"), { ifGenerationMatch: null });

    await expect(write).rejects.toMatchObject({ code: "FAILED_PRECONDITION" });
    expect(text((await root.readFile("state.proto"))?.data)).toBe("v1");
  });

  it("accepts a write at the current generation and a must-not-exist write of a new file", async () => {
    const root = current();
    const first = await root.writeFile("state.proto", bytes("v1"), { ifGenerationMatch: null });

    const second = await root.writeFile("state.proto", bytes("v2"), { ifGenerationMatch: first });

    expect(second).not.toBe(first);
    expect(await root.readFile("state.proto")).toEqual({ data: bytes("v2"), generation: second });
  });
}
