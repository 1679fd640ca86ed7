/**
 * The production ModelLoader: resolves a Load's param class path and overrides in the servable registry,
 * checks the model's estimated memory against what this server has left (memory-budget.ts), then starts
 * a Python worker that builds the servable from the resolved config.
 */
import { randomInt } from "node:crypto";
import type { Logger } from "../common/log.js";
import type { ServableConfig, ServableRegistry } from "../registry/index.js";
import { InvalidArgumentError } from "../common/errors.js";
import { ModelServer_ChipType } from "../gen/sax/admin.js";
import { estimateServableMemory } from "../registry/memory-estimate.js";
import { ModelWorker } from "../worker/model-worker.js";
import { servableKindOf, WORKER_SERVABLE_KINDS, workersCanBuild } from "../worker/servable-kinds.js";
import type { WorkerStateChange } from "../worker/worker-state.js";
import {
  MemoryBudget,
  platformMemoryProbe,
  type MemoryProbe,
  type MemoryReservation,
} from "./memory-budget.js";
import type { LoadedModel, LoadedModelEvent, LoadRequest, ModelLoader } from "./model-loader.js";
import { residentBytes } from "./process-memory.js";

/** The seed of every load under `--deterministic_rng`, as in Saxml. */
export const DETERMINISTIC_SEED = 1234;

/** Options of {@link WorkerModelLoader}. */
export interface WorkerModelLoaderOptions {
  readonly registry: ServableRegistry;
  /** Accelerator devices visible to workers; decides which mesh shapes load. */
  readonly deviceCount: number;
  /** JAX platform of the workers (`JAX_PLATFORMS`). */
  readonly jaxPlatforms: "cpu" | "cuda" | "tpu";
  /** Chip type of `--platform_chip`; sizes device memory on accelerators. @default CHIP_TYPE_UNKNOWN */
  readonly chipType?: ModelServer_ChipType;
  /**
   * Memory for models, before those loaded here are subtracted.
   * @default free host memory for `cpu`, the chip's memory × `deviceCount` otherwise (unknown chips skip the check)
   */
  readonly memory?: MemoryProbe;
  /** Load every model with {@link DETERMINISTIC_SEED} instead of a fresh random seed. @default false */
  readonly deterministicRng?: boolean;
  /** Python interpreter of the workers. @default the project venv's */
  readonly pythonPath?: string;
  readonly log: Logger;
}

/** Loads each model into a worker process of its own. */
export class WorkerModelLoader implements ModelLoader {
  private started = 0;
  private readonly budget: MemoryBudget;

  constructor(private readonly options: WorkerModelLoaderOptions) {
    const { jaxPlatforms, deviceCount } = options;
    const chipType = options.chipType ?? ModelServer_ChipType.CHIP_TYPE_UNKNOWN;
    const probe = options.memory ?? platformMemoryProbe({ jaxPlatforms, chipType, deviceCount });
    this.budget = new MemoryBudget(probe, options.log);
  }

  async load(request: LoadRequest): Promise<LoadedModel> {
    const { registry, deviceCount, jaxPlatforms, log } = this.options;
    const resolved = registry.resolve(request.modelPath, request.overrides, {
      deviceCount,
      platform: jaxPlatforms,
    });
    if (!workersCanBuild(resolved.config)) {
      throw new InvalidArgumentError(
        `${request.modelPath} is a ${servableKindOf(resolved.config)} servable, which this model server's workers ` +
          `cannot build yet (they build: ${[...WORKER_SERVABLE_KINDS].join(", ")})`,
      );
    }
    for (const warning of resolved.warnings) log.warn(`${request.modelKey}: ${warning}`);
    const reservation = await this.budget.reserve({
      modelKey: request.modelKey,
      modelPath: request.modelPath,
      estimate: estimateServableMemory(resolved.config),
    });
    try {
      return await this.startWorker(request, resolved.config, reservation);
    } catch (err) {
      reservation.release();
      throw err;
    }
  }

  /** The load seed (Saxml's: a fresh random integer per Load, or 1234 with --deterministic_rng). */
  private seedOfLoad(): number {
    return this.options.deterministicRng === true ? DETERMINISTIC_SEED : randomInt(2 ** 47);
  }

  private async startWorker(
    request: LoadRequest,
    config: ServableConfig,
    reservation: MemoryReservation,
  ): Promise<LoadedModel> {
    const { log } = this.options;
    this.started += 1;
    // Set between a crash and the worker being ready again: only then is "ready" news for the model.
    let recovering = false;
    const worker = await ModelWorker.start({
      workerId: `w${this.started}`,
      model: request.modelKey,
      load: { config: { ...config }, checkpoint: request.checkpointPath, seed: this.seedOfLoad() },
      ...(this.options.pythonPath === undefined ? {} : { pythonPath: this.options.pythonPath }),
      env: { JAX_PLATFORMS: this.options.jaxPlatforms },
      logger: log,
      onStateChange: (change) => {
        const event = modelEvent(change, recovering);
        if (event?.kind === "ready") log.info(`${request.modelKey}: worker back, pid ${worker.pid ?? "?"}`);
        recovering = change.state === "restarting" || (recovering && change.state !== "ready");
        if (event) request.onEvent(event);
      },
    });
    log.info(`${request.modelKey}: worker ${worker.workerId} ready, pid ${worker.pid ?? "?"}`);
    const served = worker.methods;
    return {
      methods: served?.methods ?? new Set(),
      streamingMethods: served?.streaming ?? new Set(),
      ...(worker.loadInfo === undefined ? {} : { loadInfo: worker.loadInfo }),
      residentBytes: () => residentBytes(worker.pid),
      call: (method, body, options) =>
        worker.call(method, body as Record<string, unknown>, { signal: options?.signal }),
      stream: (method, body, options) =>
        worker.stream(method, body as Record<string, unknown>, { signal: options?.signal }),
      // The memory is given back once the process is gone, even if stopping it went wrong.
      unload: () => worker.stop().finally(() => reservation.release()),
    };
  }
}

/** How a worker's state change shows in the model's status; `recovering` is set after a crash. */
function modelEvent(change: WorkerStateChange, recovering: boolean): LoadedModelEvent | undefined {
  const reason = change.reason?.message ?? `worker ${change.workerId} is ${change.state}`;
  switch (change.state) {
    case "restarting":
      return { kind: "restarting", reason };
    case "ready":
      return recovering ? { kind: "ready" } : undefined;
    case "failed":
      return { kind: "failed", reason };
    case "starting":
    case "loading":
    case "draining":
    case "stopped":
      return undefined;
  }
}
