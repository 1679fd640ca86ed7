/**
 * Accelerator platform facts shared by the admin and the model server: how `--platform_chip` and
 * `--platform_topology` strings map to the `ModelServer` enums (Saxml's server/proto_util.py), and how
 * much memory and how many cores a chip type and topology stand for (Saxml's admin/utils.go).
 */
import { ModelServer_ChipTopology, ModelServer_ChipType } from "../gen/sax/admin.js";

const ChipType = ModelServer_ChipType;
const Topology = ModelServer_ChipTopology;

/**
 * Chip names a model server accepts, lower-case. `tpuv6e` is deliberately absent: Saxml's model server
 * reports it as UNKNOWN, and admins compare enums, so we do the same.
 */
const CHIP_TYPE_BY_NAME = {
  tpuv2: ChipType.CHIP_TYPE_TPU_V2,
  tpuv3: ChipType.CHIP_TYPE_TPU_V3,
  tpuv4: ChipType.CHIP_TYPE_TPU_V4,
  tpuv4i: ChipType.CHIP_TYPE_TPU_V4I,
  tpuv5e: ChipType.CHIP_TYPE_TPU_V5E,
  p100: ChipType.CHIP_TYPE_GPU_P100,
  v100: ChipType.CHIP_TYPE_GPU_V100,
  t4: ChipType.CHIP_TYPE_GPU_T4,
  l4: ChipType.CHIP_TYPE_GPU_L4,
  a100: ChipType.CHIP_TYPE_GPU_A100,
  h100: ChipType.CHIP_TYPE_GPU_H100,
  cpu: ChipType.CHIP_TYPE_CPU,
} as const satisfies Record<string, ModelServer_ChipType>;

/** Topology names a model server accepts (case-sensitive, lower-case `x`). */
const TOPOLOGY_BY_NAME = {
  "1": Topology.CHIP_TOPOLOGY_1,
  "2": Topology.CHIP_TOPOLOGY_2,
  "4": Topology.CHIP_TOPOLOGY_4,
  "8": Topology.CHIP_TOPOLOGY_8,
  "16": Topology.CHIP_TOPOLOGY_16,
  "1x1": Topology.CHIP_TOPOLOGY_1X1,
  "2x2": Topology.CHIP_TOPOLOGY_2X2,
  "2x4": Topology.CHIP_TOPOLOGY_2X4,
  "4x2": Topology.CHIP_TOPOLOGY_4X2,
  "4x4": Topology.CHIP_TOPOLOGY_4X4,
  "4x8": Topology.CHIP_TOPOLOGY_4X8,
  "8x8": Topology.CHIP_TOPOLOGY_8X8,
  "8x16": Topology.CHIP_TOPOLOGY_8X16,
  "16x16": Topology.CHIP_TOPOLOGY_16X16,
  "16x32": Topology.CHIP_TOPOLOGY_16X32,
  "32x32": Topology.CHIP_TOPOLOGY_32X32,
  "1x1x1": Topology.CHIP_TOPOLOGY_1X1X1,
  "1x2x1": Topology.CHIP_TOPOLOGY_1X2X1,
  "2x2x1": Topology.CHIP_TOPOLOGY_2X2X1,
  "2x2x2": Topology.CHIP_TOPOLOGY_2X2X2,
  "2x2x4": Topology.CHIP_TOPOLOGY_2X2X4,
  "2x4x4": Topology.CHIP_TOPOLOGY_2X4X4,
  "4x4x4": Topology.CHIP_TOPOLOGY_4X4X4,
  "4x4x8": Topology.CHIP_TOPOLOGY_4X4X8,
  "4x4x16": Topology.CHIP_TOPOLOGY_4X4X16,
  "4x8x8": Topology.CHIP_TOPOLOGY_4X8X8,
  "4x8x16": Topology.CHIP_TOPOLOGY_4X8X16,
  "4x16x16": Topology.CHIP_TOPOLOGY_4X16X16,
  "4x16x32": Topology.CHIP_TOPOLOGY_4X16X32,
  "8x8x8": Topology.CHIP_TOPOLOGY_8X8X8,
  "8x8x12": Topology.CHIP_TOPOLOGY_8X8X12,
  "8x8x16": Topology.CHIP_TOPOLOGY_8X8X16,
  "8x16x16": Topology.CHIP_TOPOLOGY_8X16X16,
} as const satisfies Record<string, ModelServer_ChipTopology>;

// Maps rather than object lookups, so that names like "constructor" cannot hit Object.prototype.
const chipTypes: ReadonlyMap<string, ModelServer_ChipType> = new Map(Object.entries(CHIP_TYPE_BY_NAME));
const topologies: ReadonlyMap<string, ModelServer_ChipTopology> = new Map(Object.entries(TOPOLOGY_BY_NAME));

/** Parses a chip name such as `tpuv4` or `H100` (case-insensitive); unknown names give UNKNOWN. */
export function parseChipType(name: string): ModelServer_ChipType {
  return chipTypes.get(name.toLowerCase()) ?? ChipType.CHIP_TYPE_UNKNOWN;
}

/**
 * Parses a topology such as `2x2` or `4x4x4_twisted` (case-sensitive; one trailing `_twisted` or
 * `_untwisted` is ignored); unknown names, `2X2` included, give UNKNOWN.
 */
export function parseChipTopology(name: string): ModelServer_ChipTopology {
  return topologies.get(name.replace(/_(un)?twisted$/, "")) ?? Topology.CHIP_TOPOLOGY_UNKNOWN;
}

/**
 * The enum name of a chip type, e.g. `CHIP_TYPE_CPU`; a value outside the enum prints as its number,
 * as protobuf's `String()` does.
 */
export function chipTypeName(chipType: ModelServer_ChipType): string {
  return ChipType[chipType] ?? String(chipType);
}

/** The enum name of a topology, e.g. `CHIP_TOPOLOGY_1X1`; a value outside the enum prints as its number. */
export function chipTopologyName(topology: ModelServer_ChipTopology): string {
  return Topology[topology] ?? String(topology);
}

const GIB = 2 ** 30;

/** Memory per core in GiB, per chip type; chip types not listed (CPU among them) are assumed to have 64. */
const GIB_PER_CORE = {
  [ChipType.CHIP_TYPE_UNKNOWN]: 8,
  [ChipType.CHIP_TYPE_TPU_V2]: 8,
  [ChipType.CHIP_TYPE_TPU_V3]: 16,
  [ChipType.CHIP_TYPE_TPU_V4]: 16,
  [ChipType.CHIP_TYPE_TPU_V4I]: 8,
  [ChipType.CHIP_TYPE_TPU_V5E]: 16,
  [ChipType.CHIP_TYPE_TPU_V6E]: 32,
  [ChipType.CHIP_TYPE_GPU_P100]: 16,
  [ChipType.CHIP_TYPE_GPU_V100]: 16,
  [ChipType.CHIP_TYPE_GPU_T4]: 16,
  [ChipType.CHIP_TYPE_GPU_A100]: 40,
  [ChipType.CHIP_TYPE_GPU_H100]: 80,
  [ChipType.CHIP_TYPE_GPU_L4]: 24,
} as const satisfies Partial<Record<ModelServer_ChipType, number>>;

const DEFAULT_GIB_PER_CORE = 64;

/** Memory of one core of `chipType`, in bytes (Saxml's memory-aware assigner table). */
export function bytesPerCore(chipType: ModelServer_ChipType): number {
  const table: Partial<Record<ModelServer_ChipType, number>> = GIB_PER_CORE;
  return (table[chipType] ?? DEFAULT_GIB_PER_CORE) * GIB;
}

/**
 * Topologies Saxml's assigner does not count, so they stand for a single core even though their name
 * multiplies out to more. Kept for compatibility: core counts decide which `ram<N>` override applies.
 */
const SINGLE_CORE_TOPOLOGIES: ReadonlySet<ModelServer_ChipTopology> = new Set([
  Topology.CHIP_TOPOLOGY_UNKNOWN,
  Topology.CHIP_TOPOLOGY_4X8X16,
  Topology.CHIP_TOPOLOGY_4X16X16,
  Topology.CHIP_TOPOLOGY_4X16X32,
  Topology.CHIP_TOPOLOGY_8X8X16,
  Topology.CHIP_TOPOLOGY_8X16X16,
]);

/**
 * Number of cores of a topology: `N` is N, `AxB[xC]` the product, and UNKNOWN, values outside the enum
 * and the few topologies Saxml leaves out (4x8x16, 4x16x16, 4x16x32, 8x8x16, 8x16x16) count as 1.
 */
export function coresOf(topology: ModelServer_ChipTopology): number {
  if (SINGLE_CORE_TOPOLOGIES.has(topology)) return 1;
  const dims = /^CHIP_TOPOLOGY_(\d+(?:X\d+)*)$/.exec(chipTopologyName(topology))?.[1];
  if (dims === undefined) return 1;
  return dims.split("X").reduce((product, dim) => product * Number(dim), 1);
}
