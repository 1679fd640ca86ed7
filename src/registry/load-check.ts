/**
 * Can this servable load on this host? The reference answers in its load order: building the model
 * (`task()`) comes first, where flash-decoding classes raise "Flash decoding is deprecated." (INTERNAL,
 * raised as an unsupported-operation error there), then the device-mesh check (INVALID_ARGUMENT, a ValueError
 * there).
 * Advertising (servablePaths) uses the mesh check only, as `can_serve_on` does, so the H100x8 classes
 * are advertised on 8-device hosts and then fail to load, exactly like Saxml's.
 */
import { InvalidArgumentError, SaxError } from "../common/errors.js";
import type { MeshShape, ServableConfig } from "./servable-config.js";
import { PLATFORMS, type Platform } from "./vision-config.js";

/** The platforms a servable runs on: vision and vLLM configs name theirs, LMs run on every one. */
export function platformsOf(config: ServableConfig): readonly Platform[] {
  return config.kind === "vision" || config.kind === "vllm" ? config.platforms : PLATFORMS;
}

/** Whether a model server of `platform` can run the servable (and so advertises it). */
export function runsOn(config: ServableConfig, platform: Platform): boolean {
  return platformsOf(config).includes(platform);
}

/** The first declared mesh shape whose product is `deviceCount`, if any (data-plane spec §1.6). */
export function supportedMeshShape(
  meshShapes: readonly MeshShape[],
  deviceCount: number,
): MeshShape | undefined {
  return meshShapes.find((shape) => shape.reduce((product, dim) => product * dim, 1) === deviceCount);
}

/** The reference's reason for not building a servable, or undefined when it builds. */
function buildFailure(config: ServableConfig): SaxError | undefined {
  if (config.kind !== "lm" || config.architecture.family !== "llama") return undefined;
  const { useMqa, gpuFlashDecoding } = config.architecture;
  // Exact reference text; the model server prefixes INTERNAL load errors with "Loading error: ".
  return useMqa && gpuFlashDecoding ? new SaxError("INTERNAL", "Flash decoding is deprecated.") : undefined;
}

/**
 * Returns the mesh shape `config` loads with on `deviceCount` devices of `platform`; throws SaxError
 * FAILED_PRECONDITION for a servable of other platforms (Detectron2 and vLLM need CUDA), INTERNAL for a
 * flash-decoding config and InvalidArgumentError "Unsupported mesh shape: …" when no shape fits.
 */
export function checkLoadable(config: ServableConfig, deviceCount: number, platform?: Platform): MeshShape {
  if (platform !== undefined && !runsOn(config, platform)) {
    const needed = platformsOf(config).join(" or ");
    throw new SaxError(
      "FAILED_PRECONDITION",
      `it runs only on ${needed} model servers (--jax_platforms=${needed}); this one runs on ${platform}`,
    );
  }
  const failure = buildFailure(config);
  if (failure) throw failure;
  const shape = supportedMeshShape(config.meshShapes, deviceCount);
  if (shape) return shape;
  // JAX's mesh_utils message per shape, joined as Saxml does.
  const reasons = config.meshShapes.map(
    (mesh) => ` Number of devices ${deviceCount} must equal the product of mesh_shape [${mesh.join(", ")}]`,
  );
  throw new InvalidArgumentError(`Unsupported mesh shape:${reasons.join("")}`);
}
