/**
 * The servable kinds Python workers can build (python-runtime/sax_worker/servables/registry.py's static
 * builder table). A model server advertises, and loads, only configs of these kinds; a contract test
 * checks this list against the Python table.
 */
import type { ServableConfig } from "../registry/index.js";

/**
 * Builder keys of the Python workers: `kind`, or `kind/family` for configs with an architecture, with
 * `@framework` appended for frameworks other than JAX (`lm/llama@torch`).
 */
export const WORKER_SERVABLE_KINDS: ReadonlySet<string> = new Set([
  "echo",
  "lm/llama",
  "lm/llama@torch",
  "lm/lm_cloud",
  "vision/resnet",
  "vision/resnet@torch",
  "vision/faster_rcnn@torch",
  "vision/tiny_diffusion@torch",
  "vision/detectron2@torch",
  "vllm",
]);

/** The builder key a config selects, as the worker computes it. */
export function servableKindOf(config: ServableConfig): string {
  if (config.kind !== "lm" && config.kind !== "vision") return config.kind;
  const key = `${config.kind}/${config.architecture.family}`;
  return config.framework === "jax" ? key : `${key}@${config.framework}`;
}

/** Whether workers can build `config`. */
export function workersCanBuild(config: ServableConfig): boolean {
  const kind = servableKindOf(config);
  return WORKER_SERVABLE_KINDS.has(kind) || WORKER_SERVABLE_KINDS.has(config.kind);
}
