import { describe, expect, it } from "vitest";

import {
  bytesPerCore,
  chipTopologyName,
  chipTypeName,
  coresOf,
  parseChipTopology,
  parseChipType,
} from "../../../src/common/platform.js";
import {
  ModelServer_ChipTopology as Topology,
  ModelServer_ChipType as ChipType,
} from "../../../src/gen/sax/admin.js";

const GIB = 2 ** 30;

describe("parseChipType", () => {
  it.each([
    ["tpuv2", ChipType.CHIP_TYPE_TPU_V2],
    ["tpuv3", ChipType.CHIP_TYPE_TPU_V3],
    ["tpuv4", ChipType.CHIP_TYPE_TPU_V4],
    ["tpuv4i", ChipType.CHIP_TYPE_TPU_V4I],
    ["tpuv5e", ChipType.CHIP_TYPE_TPU_V5E],
    ["p100", ChipType.CHIP_TYPE_GPU_P100],
    ["v100", ChipType.CHIP_TYPE_GPU_V100],
    ["t4", ChipType.CHIP_TYPE_GPU_T4],
    ["l4", ChipType.CHIP_TYPE_GPU_L4],
    ["a100", ChipType.CHIP_TYPE_GPU_A100],
    ["h100", ChipType.CHIP_TYPE_GPU_H100],
    ["cpu", ChipType.CHIP_TYPE_CPU],
  ])("maps %s to its chip type", (name, expected) => {
    expect(parseChipType(name)).toBe(expected);
  });

  it("ignores case", () => {
    expect(parseChipType("TPUv4I")).toBe(ChipType.CHIP_TYPE_TPU_V4I);
    expect(parseChipType("CPU")).toBe(ChipType.CHIP_TYPE_CPU);
  });

  it.each(["tpuv6e", "", "gpu", "h100 ", "constructor", "__proto__"])(
    "maps unknown name %j to UNKNOWN",
    (name) => {
      expect(parseChipType(name)).toBe(ChipType.CHIP_TYPE_UNKNOWN);
    },
  );
});

describe("parseChipTopology", () => {
  it.each([
    ["1", Topology.CHIP_TOPOLOGY_1],
    ["2", Topology.CHIP_TOPOLOGY_2],
    ["4", Topology.CHIP_TOPOLOGY_4],
    ["8", Topology.CHIP_TOPOLOGY_8],
    ["16", Topology.CHIP_TOPOLOGY_16],
    ["1x1", Topology.CHIP_TOPOLOGY_1X1],
    ["2x2", Topology.CHIP_TOPOLOGY_2X2],
    ["2x4", Topology.CHIP_TOPOLOGY_2X4],
    ["4x2", Topology.CHIP_TOPOLOGY_4X2],
    ["4x4", Topology.CHIP_TOPOLOGY_4X4],
    ["4x8", Topology.CHIP_TOPOLOGY_4X8],
    ["8x8", Topology.CHIP_TOPOLOGY_8X8],
    ["8x16", Topology.CHIP_TOPOLOGY_8X16],
    ["16x16", Topology.CHIP_TOPOLOGY_16X16],
    ["16x32", Topology.CHIP_TOPOLOGY_16X32],
    ["32x32", Topology.CHIP_TOPOLOGY_32X32],
    ["1x1x1", Topology.CHIP_TOPOLOGY_1X1X1],
    ["1x2x1", Topology.CHIP_TOPOLOGY_1X2X1],
    ["2x2x1", Topology.CHIP_TOPOLOGY_2X2X1],
    ["2x2x2", Topology.CHIP_TOPOLOGY_2X2X2],
    ["2x2x4", Topology.CHIP_TOPOLOGY_2X2X4],
    ["2x4x4", Topology.CHIP_TOPOLOGY_2X4X4],
    ["4x4x4", Topology.CHIP_TOPOLOGY_4X4X4],
    ["4x4x8", Topology.CHIP_TOPOLOGY_4X4X8],
    ["4x4x16", Topology.CHIP_TOPOLOGY_4X4X16],
    ["4x8x8", Topology.CHIP_TOPOLOGY_4X8X8],
    ["4x8x16", Topology.CHIP_TOPOLOGY_4X8X16],
    ["4x16x16", Topology.CHIP_TOPOLOGY_4X16X16],
    ["4x16x32", Topology.CHIP_TOPOLOGY_4X16X32],
    ["8x8x8", Topology.CHIP_TOPOLOGY_8X8X8],
    ["8x8x12", Topology.CHIP_TOPOLOGY_8X8X12],
    ["8x8x16", Topology.CHIP_TOPOLOGY_8X8X16],
    ["8x16x16", Topology.CHIP_TOPOLOGY_8X16X16],
  ])("maps %s to its topology", (name, expected) => {
    expect(parseChipTopology(name)).toBe(expected);
  });

  it("strips a trailing _twisted or _untwisted", () => {
    expect(parseChipTopology("4x4x4_twisted")).toBe(Topology.CHIP_TOPOLOGY_4X4X4);
    expect(parseChipTopology("2x2x2_untwisted")).toBe(Topology.CHIP_TOPOLOGY_2X2X2);
  });

  it.each(["2X2", "", "3x3", "2x2_twisted_twisted", "_twisted", "2x2 ", "twisted", "constructor"])(
    "maps unknown topology %j to UNKNOWN",
    (name) => {
      expect(parseChipTopology(name)).toBe(Topology.CHIP_TOPOLOGY_UNKNOWN);
    },
  );
});

describe("chipTypeName and chipTopologyName", () => {
  it("gives the generated enum names", () => {
    expect(chipTypeName(ChipType.CHIP_TYPE_CPU)).toBe("CHIP_TYPE_CPU");
    expect(chipTypeName(ChipType.CHIP_TYPE_UNKNOWN)).toBe("CHIP_TYPE_UNKNOWN");
    expect(chipTopologyName(Topology.CHIP_TOPOLOGY_1)).toBe("CHIP_TOPOLOGY_1");
    expect(chipTopologyName(Topology.CHIP_TOPOLOGY_4X8X16)).toBe("CHIP_TOPOLOGY_4X8X16");
  });

  it("prints a value outside the enum as its number", () => {
    expect(chipTypeName(7 as ChipType)).toBe("7");
    expect(chipTopologyName(99 as Topology)).toBe("99");
  });

  it("round-trips every parsable chip name", () => {
    for (const name of ["tpuv2", "tpuv4i", "t4", "cpu"]) {
      const type = parseChipType(name);
      expect(ChipType[chipTypeName(type) as keyof typeof ChipType]).toBe(type);
    }
  });
});

describe("bytesPerCore", () => {
  const gibPerCore: [ChipType, number][] = [
    [ChipType.CHIP_TYPE_UNKNOWN, 8],
    [ChipType.CHIP_TYPE_TPU_V2, 8],
    [ChipType.CHIP_TYPE_TPU_V3, 16],
    [ChipType.CHIP_TYPE_TPU_V4, 16],
    [ChipType.CHIP_TYPE_TPU_V4I, 8],
    [ChipType.CHIP_TYPE_TPU_V5E, 16],
    [ChipType.CHIP_TYPE_TPU_V6E, 32],
    [ChipType.CHIP_TYPE_GPU_P100, 16],
    [ChipType.CHIP_TYPE_GPU_V100, 16],
    [ChipType.CHIP_TYPE_GPU_T4, 16],
    [ChipType.CHIP_TYPE_GPU_A100, 40],
    [ChipType.CHIP_TYPE_GPU_H100, 80],
    [ChipType.CHIP_TYPE_GPU_L4, 24],
    [ChipType.CHIP_TYPE_CPU, 64],
    [ChipType.UNRECOGNIZED, 64],
  ];
  it.each(gibPerCore.map(([type, gib]) => [chipTypeName(type), gib, type] as const))(
    "gives %s %i GiB per core",
    (_name, gib, type) => {
      expect(bytesPerCore(type)).toBe(gib * GIB);
    },
  );
});

describe("coresOf", () => {
  const coreCounts: [Topology, number][] = [
    [Topology.CHIP_TOPOLOGY_1, 1],
    [Topology.CHIP_TOPOLOGY_2, 2],
    [Topology.CHIP_TOPOLOGY_4, 4],
    [Topology.CHIP_TOPOLOGY_8, 8],
    [Topology.CHIP_TOPOLOGY_16, 16],
    [Topology.CHIP_TOPOLOGY_1X1, 1],
    [Topology.CHIP_TOPOLOGY_2X2, 4],
    [Topology.CHIP_TOPOLOGY_2X4, 8],
    [Topology.CHIP_TOPOLOGY_4X2, 8],
    [Topology.CHIP_TOPOLOGY_4X4, 16],
    [Topology.CHIP_TOPOLOGY_4X8, 32],
    [Topology.CHIP_TOPOLOGY_8X8, 64],
    [Topology.CHIP_TOPOLOGY_8X16, 128],
    [Topology.CHIP_TOPOLOGY_16X16, 256],
    [Topology.CHIP_TOPOLOGY_16X32, 512],
    [Topology.CHIP_TOPOLOGY_32X32, 1024],
    [Topology.CHIP_TOPOLOGY_1X1X1, 1],
    [Topology.CHIP_TOPOLOGY_1X2X1, 2],
    [Topology.CHIP_TOPOLOGY_2X2X1, 4],
    [Topology.CHIP_TOPOLOGY_2X2X2, 8],
    [Topology.CHIP_TOPOLOGY_2X2X4, 16],
    [Topology.CHIP_TOPOLOGY_2X4X4, 32],
    [Topology.CHIP_TOPOLOGY_4X4X4, 64],
    [Topology.CHIP_TOPOLOGY_4X4X8, 128],
    [Topology.CHIP_TOPOLOGY_4X4X16, 256],
    [Topology.CHIP_TOPOLOGY_4X8X8, 256],
    [Topology.CHIP_TOPOLOGY_8X8X8, 512],
    [Topology.CHIP_TOPOLOGY_8X8X12, 768],
  ];
  it.each(coreCounts.map(([topology, cores]) => [chipTopologyName(topology), cores, topology] as const))(
    "counts %s as %i core(s)",
    (_name, cores, topology) => {
      expect(coresOf(topology)).toBe(cores);
    },
  );

  it.each(
    [
      Topology.CHIP_TOPOLOGY_UNKNOWN,
      Topology.CHIP_TOPOLOGY_4X8X16,
      Topology.CHIP_TOPOLOGY_4X16X16,
      Topology.CHIP_TOPOLOGY_4X16X32,
      Topology.CHIP_TOPOLOGY_8X8X16,
      Topology.CHIP_TOPOLOGY_8X16X16,
      Topology.UNRECOGNIZED,
      99 as Topology,
    ].map((topology) => [chipTopologyName(topology), topology] as const),
  )("counts %s as one core, as Saxml does", (_name, topology) => {
    expect(coresOf(topology)).toBe(1);
  });
});
