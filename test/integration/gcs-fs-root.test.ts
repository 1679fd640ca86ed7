import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { GcsFsRoot } from "../../src/common/gcs-fs-root.js";
import { startFakeGcsServer, type FakeGcsServer } from "../helpers/fake-gcs-server.js";
import { bytes, describeFsRootContract, text } from "../helpers/fs-root-contract.js";

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

describeFsRootContract("GcsFsRoot", openRoot);

describe("GcsFsRoot", () => {
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

  it("names the gs:// url of the level that a file blocks when making a directory", async () => {
    await root.writeFile("sax", bytes("not a dir"));

    await expect(root.makeDir("sax/test")).rejects.toThrow(
      /cannot create directory gs:\/\/.*\/sax: a file is in the way/,
    );
  });

  it("names the gs:// url of the object when a compare-and-swap write is stale", async () => {
    const stale = await root.writeFile("state.proto", bytes("v1"));
    await root.writeFile("state.proto", bytes("v2"));

    await expect(root.writeFile("state.proto", bytes("v3"), { ifGenerationMatch: stale })).rejects.toThrow(
      /cannot write gs:\/\/.*state\.proto: .*read it again and retry/,
    );
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
