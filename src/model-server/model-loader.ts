/**
 * The seam between the Modelet (which models exist, in which status) and the processes that hold them.
 * The production implementation starts one Python worker per model; tests may use an in-process fake.
 */
import type { CallOptions } from "../grpc/client.js";

/** Status changes a loaded model reports after its load succeeded (e.g. its worker crashed). */
export type LoadedModelEvent =
  | { readonly kind: "restarting"; readonly reason: string }
  | { readonly kind: "ready" }
  | { readonly kind: "failed"; readonly reason: string };

/** What a Load asks for. */
export interface LoadRequest {
  readonly modelKey: string;
  readonly modelPath: string;
  readonly checkpointPath: string;
  /** Overrides from the Publish request (values are JSON text). */
  readonly overrides: Readonly<Record<string, string>>;
  /** Called when the model's availability changes after the load. */
  readonly onEvent: (event: LoadedModelEvent) => void;
}

/** What loading a model cost, as the process holding it measured; a field is absent when not recorded. */
export interface ModelLoadInfo {
  /** Parameters of the model. */
  readonly parameters?: number;
  /** Reading (or initialising) the weights and placing them on the devices. */
  readonly weightsSeconds?: number;
  /** Compiling the model's programs before it reported loaded. */
  readonly compileSeconds?: number;
  /** Checkpoint bytes read (0 for random weights). */
  readonly checkpointBytes?: number;
}

/** A model held by a worker. */
export interface LoadedModel {
  /** Data methods it answers, e.g. `lm.generate`. */
  readonly methods: ReadonlySet<string>;
  /** The subset answered as a stream. */
  readonly streamingMethods: ReadonlySet<string>;
  /** What the load cost, when the servable records it. */
  readonly loadInfo?: ModelLoadInfo;
  /** Resident memory of the process holding the model now, when it has a process of its own. */
  residentBytes?(): number | undefined;
  call(method: string, request: unknown, options?: CallOptions): Promise<unknown>;
  stream(method: string, request: unknown, options?: CallOptions): AsyncIterable<unknown>;
  /** Drains in-flight requests and releases the model (its process ends). */
  unload(): Promise<void>;
}

/**
 * Loads models; fails with a SaxError (INVALID_ARGUMENT for bad paths, overrides or checkpoints,
 * RESOURCE_EXHAUSTED for a model too large for this server).
 */
export interface ModelLoader {
  load(request: LoadRequest): Promise<LoadedModel>;
}
