/**
 * The production ModelLoader: resolves a Load's param class path and overrides in the servable registry,
 * then starts a Python worker that builds the servable from the resolved config.
 */
import { randomInt } from "node:crypto";
import type { Logger } from "../common/log.js";
import type { ServableRegistry } from "../registry/index.js";
import { InvalidArgumentError } from "../common/errors.js";
import { ModelWorker } from "../worker/model-worker.js";
import { servableKindOf, WORKER_SERVABLE_KINDS, workersCanBuild } from "../worker/servable-kinds.js";
import type { WorkerStateChange } from "../worker/worker-state.js";
import type { LoadedModel, LoadedModelEvent, LoadRequest, ModelLoader } from "./model-loader.js";

/** Options of {@link WorkerModelLoader}. */
export interface WorkerModelLoaderOptions {
  readonly registry: ServableRegistry;
  /** Accelerator devices visible to workers; decides which mesh shapes load. */
  readonly deviceCount: number;
  /** JAX platform of the workers (`JAX_PLATFORMS`). */
  readonly jaxPlatforms: "cpu" | "cuda" | "tpu";
  /** Python interpreter of the workers. @default the project venv's */
  readonly pythonPath?: string;
  readonly log: Logger;
}

/** Loads each model into a worker process of its own. */
export class WorkerModelLoader implements ModelLoader {
  private started = 0;

  constructor(private readonly options: WorkerModelLoaderOptions) {}

  async load(request: LoadRequest): Promise<LoadedModel> {
    const { registry, deviceCount, log } = this.options;
    const resolved = registry.resolve(request.modelPath, request.overrides, { deviceCount });
    if (!workersCanBuild(resolved.config)) {
      throw new InvalidArgumentError(
        `${request.modelPath} is a ${servableKindOf(resolved.config)} servable, which this model server's workers ` +
          `cannot build yet (they build: ${[...WORKER_SERVABLE_KINDS].join(", ")})`,
      );
    }
    for (const warning of resolved.warnings) log.warn(`${request.modelKey}: ${warning}`);
    this.started += 1;
    // Set between a crash and the worker being ready again: only then is "ready" news for the model.
    let recovering = false;
    const worker = await ModelWorker.start({
      workerId: `w${this.started}`,
      model: request.modelKey,
      load: { config: { ...resolved.config }, checkpoint: request.checkpointPath, seed: randomInt(2 ** 47) },
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
      call: (method, body, options) =>
        worker.call(method, body as Record<string, unknown>, { signal: options?.signal }),
      stream: (method, body, options) =>
        worker.stream(method, body as Record<string, unknown>, { signal: options?.signal }),
      unload: () => worker.stop(),
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
