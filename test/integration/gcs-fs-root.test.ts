import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { GcsFsRoot } from "../../src/common/gcs-fs-root.js";
import { startFakeGcsServer, type FakeGcsServer } from "../helpers/fake-gcs-server.js";

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (data: Uint8Array | undefined): string | undefined =>
  data === undefined ? undefined : new TextDecoder().decode(data);

/** Building the emulator on a fresh machine takes a couple of minutes. */
const INSTALL_TIMEOUT_MS = 300_000;

let gcs: FakeGcsServer | undefined;
let rootUrl: string;
let root: GcsFsRoot;

/** A root in a directory of its own, so tests share the emulator but not their objects. */
function openRoot(): GcsFsRoot {
  if (gcs === undefined) throw new Error("fake-gcs-server did not start");
  return new GcsFsRoot(rootUrl, { apiEndpoint: gcs.endpoint, projectId: "test" });
}

/** Raw object names under the root, straight from the emulator. */
async function objectNames(): Promise<string[]> {
  if (gcs === undefined) throw new Error("fake-gcs-server did not start");
  const prefix = rootUrl.slice(`gs://${gcs.bucket}/`.length);
  const url = `${gcs.endpoint}/storage/v1/b/${gcs.bucket}/o?prefix=${encodeURIComponent(prefix)}/`;
  const listing = (await (await fetch(url)).json()) as { items?: { name: string }[] };
  return (listing.items ?? []).map((item) => item.name.slice(prefix.length + 1)).sort();
}

beforeAll(async () => {
  gcs = await startFakeGcsServer();
}, INSTALL_TIMEOUT_MS);

afterAll(async () => {
  await gcs?.[Symbol.asyncDispose]();
});

beforeEach(() => {
  rootUrl = `gs://${gcs?.bucket}/run-${randomUUID()}`;
  root = openRoot();
});

describe("GcsFsRoot", () => {
  it("reads back what it wrote, with the generation the write returned", async () => {
    const generation = await root.writeFile("sax/test/state.proto", bytes("v1"));

    const file = await root.readFile("sax/test/state.proto");

    expect(text(file?.data)).toBe("v1");
    expect(file?.generation).toBe(generation);
  });

  it("reads a missing file as undefined", async () => {
    expect(await root.readFile("sax/test/state.proto")).toBeUndefined();
  });

  it("marks each directory level with an empty METADATA object", async () => {
    await root.makeDir("sax/test");
    await root.writeFile("sax/test/config.proto", bytes("c"));

    expect(await objectNames()).toEqual([
      "METADATA",
      "sax/METADATA",
      "sax/test/METADATA",
      "sax/test/config.proto",
    ]);
    expect((await root.readFile("sax/test/METADATA"))?.data).toEqual(new Uint8Array());
  });

  it("creates directories idempotently, keeping existing markers", async () => {
    await root.makeDir("sax/test");
    const marker = await root.readFile("sax/test/METADATA");

    await openRoot().makeDir("sax/test");

    expect(await root.readFile("sax/test/METADATA")).toEqual(marker);
  });

  it("fails with FAILED_PRECONDITION when a file is in the way of a directory", async () => {
    await root.writeFile("sax", bytes("not a dir"));

    const makeDir = root.makeDir("sax/test");

    await expect(makeDir).rejects.toMatchObject({ name: "SaxError", code: "FAILED_PRECONDITION" });
    await expect(makeDir).rejects.toThrow(/cannot create directory gs:\/\/.*\/sax: a file is in the way/);
  });

  it("tells files, directories and missing paths apart", async () => {
    await root.writeFile("sax/test/config.proto", bytes("c"));

    expect(await root.kindOf("sax/test/config.proto")).toBe("file");
    expect(await root.kindOf("sax/test")).toBe("dir");
    expect(await root.kindOf("")).toBe("dir");
    expect(await root.kindOf("sax/other")).toBe("missing");
  });

  it("lists sub-directories sorted, skipping files", async () => {
    for (const name of ["b", "c", "a"]) await root.makeDir(`sax/${name}`);
    await root.writeFile("sax/file", bytes("f"));

    expect(await root.listDirs("sax")).toEqual(["a", "b", "c"]);
    expect(await root.listDirs("nowhere")).toEqual([]);
  });

  it("rejects a stale generation with FAILED_PRECONDITION and leaves the file unchanged", async () => {
    const stale = await root.writeFile("state.proto", bytes("v1"));
    await root.writeFile("state.proto", bytes("v2"));

    const write = root.writeFile("state.proto", bytes("v3"), { ifGenerationMatch: stale });

    await expect(write).rejects.toMatchObject({ code: "FAILED_PRECONDITION" });
    await expect(write).rejects.toThrow(/cannot write gs:\/\/.*state\.proto: .*read it again and retry/);
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

  it("reaches the emulator named by STORAGE_EMULATOR_HOST", async () => {
    process.env["STORAGE_EMULATOR_HOST"] = `${gcs?.endpoint}/storage/v1`;
    try {
      const viaEnv = new GcsFsRoot(rootUrl);
      await viaEnv.writeFile("state.proto", bytes("v1"));

      expect(text((await root.readFile("state.proto"))?.data)).toBe("v1");
    } finally {
      delete process.env["STORAGE_EMULATOR_HOST"];
    }
  });

  it("fails with NOT_FOUND naming the url when the bucket does not exist", async () => {
    const missing = new GcsFsRoot("gs://no-such-bucket/sax", {
      apiEndpoint: gcs?.endpoint,
      projectId: "test",
    });

    const write = missing.writeFile("state.proto", bytes("v1"));

    await expect(write).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(write).rejects.toThrow(/gs:\/\/no-such-bucket\/sax.*check that the bucket exists/);
  });
});
