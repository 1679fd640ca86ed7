/**
 * Refuses loads that cannot fit, before a worker is started for them.
 *
 * A {@link MemoryProbe} says how much memory this model server has for models: on CPU workers the
 * host memory available now, on accelerators the device memory its `--platform_chip` and
 * `--platform_topology` imply. The {@link MemoryBudget} subtracts the estimates of the models it
 * admitted and has not yet released, and refuses with RESOURCE_EXHAUSTED a load whose estimate
 * (the servable registry's: weights plus 20%) exceeds what is left. A probe that cannot tell skips the
 * check. Estimates are rough, so the check only catches loads that clearly cannot fit (a 70B model on
 * a CPU host), rather than ones that barely might. On a CPU host the measure already excludes what
 * loaded workers hold, so subtracting their estimates too errs towards refusing; it also keeps room
 * for workers that have not yet grown to their full size.
 */
import { readFile } from "node:fs/promises";
import { freemem } from "node:os";
import { SaxError } from "../common/errors.js";
import type { Logger } from "../common/log.js";
import { bytesPerCore, chipTypeName } from "../common/platform.js";
import { ModelServer_ChipType } from "../gen/sax/admin.js";
import type { ServableMemoryEstimate } from "../registry/memory-estimate.js";

const GIB = 2 ** 30;
const MIB = 2 ** 20;

/** An amount of memory and what was measured to get it. */
export interface MeasuredMemory {
  readonly bytes: number;
  /** What the bytes are, for messages, e.g. `free host memory (MemAvailable in /proc/meminfo)`. */
  readonly source: string;
}

/** Where the memory a model server may fill with models comes from. */
export interface MemoryProbe {
  /** The memory for models, before those already loaded are subtracted; undefined when unknown. */
  measure(): Promise<MeasuredMemory | undefined>;
}

/** Memory held for one admitted model until it is released (on unload or a failed load). */
export interface MemoryReservation {
  readonly bytes: number;
  /** Gives the memory back to the budget. Idempotent. */
  release(): void;
}

/** The model a load is for. */
export interface BudgetRequest {
  readonly modelKey: string;
  readonly modelPath: string;
  readonly estimate: ServableMemoryEstimate;
}

/** The memory of one model server, shared by the models it loads. */
export class MemoryBudget {
  private readonly reservations = new Set<MemoryReservation>();

  constructor(
    private readonly probe: MemoryProbe,
    private readonly log: Logger,
  ) {}

  /** Bytes held by admitted models. */
  get reservedBytes(): number {
    return [...this.reservations].reduce((sum, r) => sum + r.bytes, 0);
  }

  /** Admits a load whose estimate fits, holding its bytes; RESOURCE_EXHAUSTED when it cannot fit. */
  async reserve(request: BudgetRequest): Promise<MemoryReservation> {
    const measured = await this.probe.measure();
    const bytes = request.estimate.totalBytes;
    if (measured === undefined) {
      this.log.debug(
        `${request.modelKey}: memory check skipped: this model server's memory is unknown ` +
          `(on accelerators, set --platform_chip to a chip of known memory)`,
      );
    } else {
      const loaded = { count: this.reservations.size, bytes: this.reservedBytes };
      if (bytes > measured.bytes - loaded.bytes) {
        throw new SaxError("RESOURCE_EXHAUSTED", refusalMessage(request, measured, loaded), {
          model: request.modelKey,
        });
      }
    }
    const reservation: MemoryReservation = {
      bytes,
      release: () => void this.reservations.delete(reservation),
    };
    this.reservations.add(reservation);
    return reservation;
  }
}

/** Models already admitted: how many, and their estimated bytes. */
export interface LoadedModels {
  readonly count: number;
  readonly bytes: number;
}

/** Why a load was refused: what it needs, what there is, what was measured and what to try. */
export function refusalMessage(
  request: BudgetRequest,
  measured: MeasuredMemory,
  loaded: LoadedModels,
): string {
  const { estimate } = request;
  const parts = estimate.weights
    ? ` (weights ${formatBytes(estimate.weights.bytes)} in ${estimate.weights.dtype} + ${Math.round(estimate.headroom * 100)}% headroom)`
    : "";
  const available = Math.max(0, measured.bytes - loaded.bytes);
  const plural = loaded.count === 1 ? "model" : "models";
  const source =
    loaded.count === 0
      ? measured.source
      : `${measured.source}: ${formatBytes(measured.bytes)}, less ${formatBytes(loaded.bytes)} estimated for ` +
        `the ${loaded.count} ${plural} it already loaded`;
  return (
    `${request.modelPath} needs about ${formatBytes(estimate.totalBytes)}${parts} but this model server has ` +
    `${formatBytes(available)} available (${source}); use a smaller model, a quantized variant, or a server ` +
    `with more memory`
  );
}

/** `165.3 GiB`, or `12.5 MiB` below a GiB. */
export function formatBytes(bytes: number): string {
  return bytes >= GIB ? `${(bytes / GIB).toFixed(1)} GiB` : `${(bytes / MIB).toFixed(1)} MiB`;
}

/** Bytes of `MemAvailable` in a /proc/meminfo text, or undefined if it has none. */
export function parseMemAvailable(meminfo: string): number | undefined {
  const match = /^MemAvailable:\s+(\d+)\s*kB\s*$/m.exec(meminfo);
  return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
}

/**
 * The host's memory available now: Linux's `MemAvailable` (free memory plus what the kernel can
 * reclaim), else `os.freemem()`.
 */
export function hostMemoryProbe(readMeminfo: () => Promise<string> = readProcMeminfo): MemoryProbe {
  return {
    measure: async () => {
      const available = parseMemAvailable(await readMeminfo().catch(() => ""));
      if (available !== undefined) {
        return { bytes: available, source: "free host memory, MemAvailable in /proc/meminfo" };
      }
      return { bytes: freemem(), source: "free host memory, os.freemem()" };
    },
  };
}

/**
 * The device memory a chip type and device count imply (per-core memory × devices). Unknown for chip
 * types without a known size (UNKNOWN, CPU): nothing says what the devices hold.
 */
export function deviceMemoryProbe(chipType: ModelServer_ChipType, deviceCount: number): MemoryProbe {
  const known =
    chipType !== ModelServer_ChipType.CHIP_TYPE_UNKNOWN && chipType !== ModelServer_ChipType.CHIP_TYPE_CPU;
  const perDevice = bytesPerCore(chipType);
  const source =
    `device memory, ${deviceCount} × ${formatBytes(perDevice)} of ${chipLabel(chipType)} ` +
    `per --platform_chip and --platform_topology`;
  const measured = known ? { bytes: perDevice * deviceCount, source } : undefined;
  return { measure: () => Promise.resolve(measured) };
}

/** What decides the default probe of a model server. */
export interface PlatformMemory {
  readonly jaxPlatforms: "cpu" | "cuda" | "tpu";
  readonly chipType: ModelServer_ChipType;
  readonly deviceCount: number;
}

/** Host memory for CPU workers, the platform's device memory for accelerators. */
export function platformMemoryProbe(platform: PlatformMemory): MemoryProbe {
  return platform.jaxPlatforms === "cpu"
    ? hostMemoryProbe()
    : deviceMemoryProbe(platform.chipType, platform.deviceCount);
}

/** `H100`, `TPU_V5E`: the enum name without its prefixes. */
function chipLabel(chipType: ModelServer_ChipType): string {
  return chipTypeName(chipType).replace(/^CHIP_TYPE_(GPU_)?/, "");
}

function readProcMeminfo(): Promise<string> {
  return process.platform === "linux" ? readFile("/proc/meminfo", "utf8") : Promise.resolve("");
}
