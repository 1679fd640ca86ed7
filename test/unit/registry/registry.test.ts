import { describe, expect, it } from "vitest";
import { ModelServer_ChipTopology, ModelServer_ChipType } from "../../../src/gen/sax/admin.js";
import { ServableRegistry } from "../../../src/registry/index.js";
import { lmCloud, registry } from "./registry-fixtures.js";

const cpu = (deviceCount: number) => ({
  chipType: ModelServer_ChipType.CHIP_TYPE_CPU,
  chipTopology: ModelServer_ChipTopology.CHIP_TOPOLOGY_1,
  deviceCount,
  platform: "cpu" as const,
});

describe("ServableRegistry lookup", () => {
  it("finds a class by its full name and by its alias under saxml.server", () => {
    expect(registry.resolve(lmCloud("LmCloudSpmd2BTest")).path).toBe(lmCloud("LmCloudSpmd2BTest"));
    expect(registry.resolve("pax.lm.params.lm_cloud.LmCloudSpmd2BTest").path).toBe(
      lmCloud("LmCloudSpmd2BTest"),
    );
  });

  it.each([
    "lm_cloud.LmCloudSpmd2BTest",
    "LmCloudSpmd2BTest",
    "saxml.server.pax.lm.params.lm_cloud.BaseLLaMA",
  ])("fails INVALID_ARGUMENT for %s", (path) => {
    expect(() => registry.resolve(path)).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT", message: `Could not find servable model ${path}` }),
    );
  });

  it("resolves aliases relative to another root, and none without a root", () => {
    const lmParams = new ServableRegistry({ registryRoot: "saxml.server.pax.lm.params" });
    expect(lmParams.lookup("lm_cloud.LmCloudSpmd2BTest")).toBe(lmCloud("LmCloudSpmd2BTest"));
    const noRoot = new ServableRegistry({ registryRoot: null });
    expect(noRoot.lookup("pax.lm.params.lm_cloud.LmCloudSpmd2BTest")).toBeUndefined();
  });

  it("finds only names the filter regex fully matches, as given", () => {
    const filtered = new ServableRegistry({ modelFilterRegex: ".*Test" });
    expect(filtered.lookup("pax.lm.params.lm_cloud.LmCloudSpmd2BTest")).toBe(lmCloud("LmCloudSpmd2BTest"));
    expect(filtered.lookup(lmCloud("LmCloudSpmd2B"))).toBeUndefined();
    expect(
      new ServableRegistry({ modelFilterRegex: "LmCloud" }).lookup(lmCloud("LmCloudSpmd2BTest")),
    ).toBeUndefined();
  });

  it("lists only filtered full names", () => {
    const filtered = new ServableRegistry({ modelFilterRegex: "saxts\\..*" });
    expect(filtered.fullNames()).toEqual([
      "saxts.lm.TinyLlama",
      "saxts.lm.TinyLlamaTorch",
      "saxts.lm.BenchLlama45M",
      "saxts.test.Echo",
      "saxts.vision.FasterRcnnMobileNet",
      "saxts.vision.TinyDiffusion",
    ]);
  });

  it("rejects an invalid filter regex with ConfigError", () => {
    expect(() => new ServableRegistry({ modelFilterRegex: "(" })).toThrow(/invalid --model_filter_regex/);
  });

  it("rejects a table that registers a path twice", () => {
    const entry = { path: "saxts.test.Echo", config: { kind: "echo" } } as const;
    expect(() => new ServableRegistry({ entries: [entry, entry] })).toThrow(/registered twice/);
  });
});

describe("ServableRegistry.servablePaths", () => {
  it("lists [1,1,1] servables with their aliases on one CPU device", () => {
    const paths = registry.servablePaths(cpu(1));
    expect(paths).toEqual(expect.arrayContaining([lmCloud("LmCloudSpmd2BTest"), "saxts.lm.TinyLlama"]));
    expect(paths[paths.indexOf(lmCloud("LmCloudSpmd2BTest")) + 1]).toBe(
      "pax.lm.params.lm_cloud.LmCloudSpmd2BTest",
    );
    expect(paths).not.toContain(lmCloud("LmCloudSpmd2B"));
  });

  it("lists [1,1,4] servables on four devices and not the single-device ones", () => {
    const paths = registry.servablePaths(cpu(4));
    expect(paths).toEqual(expect.arrayContaining([lmCloud("LmCloudSpmd2B"), lmCloud("LLaMA33B")]));
    expect(paths).not.toContain("saxts.lm.TinyLlama");
  });

  it("advertises the flash-decoding H100x8 classes on eight devices, as Saxml does", () => {
    expect(registry.servablePaths(cpu(8))).toContain(lmCloud("LLaMA70BFP16H100x8"));
  });
});

describe("ServableRegistry.resolve with a device count", () => {
  it("picks the mesh shape that fits", () => {
    expect(registry.resolve(lmCloud("LmCloudSpmd2B"), {}, { deviceCount: 4 }).meshShape).toEqual([1, 1, 4]);
    expect(registry.resolve(lmCloud("LmCloudSpmd2B")).meshShape).toBeNull();
  });

  it("fails INVALID_ARGUMENT with Unsupported mesh shape when none fits", () => {
    expect(() => registry.resolve(lmCloud("LmCloudSpmd2B"), {}, { deviceCount: 1 })).toThrow(
      expect.objectContaining({
        code: "INVALID_ARGUMENT",
        message: "Unsupported mesh shape: Number of devices 1 must equal the product of mesh_shape [1, 1, 4]",
      }),
    );
  });

  it("accepts an ICI_MESH_SHAPE override that makes the servable fit", () => {
    const resolved = registry.resolve(
      lmCloud("LmCloudSpmd2B"),
      { ICI_MESH_SHAPE: "[1,1,1]" },
      { deviceCount: 1 },
    );
    expect(resolved.meshShape).toEqual([1, 1, 1]);
  });

  it.each(["LLaMA70BFP16H100x8", "LLaMA70BInt8H100x8", "LLaMA70BInt8H100x8BS32", "LLaMA70BInt8H100x8Fake"])(
    "fails %s INTERNAL with Flash decoding is deprecated., before the mesh check",
    (name) => {
      expect(() => registry.resolve(lmCloud(name), {}, { deviceCount: 1 })).toThrow(
        expect.objectContaining({ code: "INTERNAL", message: "Flash decoding is deprecated." }),
      );
    },
  );

  it("loads an H100x8 class once GPU_FLASH_DECODING is overridden to false", () => {
    const resolved = registry.resolve(
      lmCloud("LLaMA70BFP16H100x8"),
      { GPU_FLASH_DECODING: "false" },
      { deviceCount: 8 },
    );
    expect(resolved.meshShape).toEqual([1, 1, 8]);
  });
});
