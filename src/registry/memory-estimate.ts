/**
 * How much memory a servable needs, estimated from its architecture, so that the admin can pack models
 * of known size onto servers without a `ram` override (Saxml's assigner needs one to share a server).
 */
import type { Architecture } from "./architecture-config.js";
import type { ServableConfig } from "./servable-config.js";
import type { VisionServableConfig } from "./vision-config.js";

/** Headroom over the weights for the KV cache, activations and the runtime. */
const OVERHEAD_FACTOR = 1.2;
/** What a servable without an architecture (the echo test servable) is counted as. */
const TRIVIAL_SERVABLE_BYTES = 1 << 20;
/** torchvision's Faster R-CNN MobileNetV3-Large FPN (either input size), 91 classes. */
const FASTER_RCNN_MOBILENET_PARAMETERS = 19_386_354;
/** detectron2's usual model, Mask R-CNN R50-FPN. */
const DETECTRON2_PARAMETERS = 44_000_000;

/** A servable's estimated memory, with the parts a message about it names. */
export interface ServableMemoryEstimate {
  /** Weights plus headroom: what {@link estimateServableBytes} returns. */
  readonly totalBytes: number;
  /** The weights alone, for servables with an architecture. */
  readonly weights?: {
    readonly bytes: number;
    /** Dtype of the weight matrices: the architecture's, or `int8` when quantized. */
    readonly dtype: string;
  };
  /** Headroom over the weights, as a fraction (0.2 for 20%). */
  readonly headroom: number;
}

/** Estimated bytes a loaded servable needs: its weights plus headroom. */
export function estimateServableBytes(config: ServableConfig): number {
  return estimateServableMemory(config).totalBytes;
}

/** {@link estimateServableBytes} with its parts: the weights, their dtype and the headroom. */
export function estimateServableMemory(config: ServableConfig): ServableMemoryEstimate {
  const headroom = OVERHEAD_FACTOR - 1;
  if (config.kind === "vision") {
    const bytes = visionParameters(config.architecture) * 4; // float32
    return { totalBytes: Math.ceil(bytes * OVERHEAD_FACTOR), weights: { bytes, dtype: "float32" }, headroom };
  }
  if (config.kind !== "lm") return { totalBytes: TRIVIAL_SERVABLE_BYTES, headroom };
  const arch = config.architecture;
  const bytes = weightBytes(arch);
  const dtype = arch.quantization.mode === "int8" ? "int8" : arch.dtype;
  return { totalBytes: Math.ceil(bytes * OVERHEAD_FACTOR), weights: { bytes, dtype }, headroom };
}

/** Bytes of the weights: matrices in the weight dtype (int8 if quantized), vectors in the dtype. */
function weightBytes(arch: Architecture): number {
  const floatBytes = arch.dtype === "bfloat16" ? 2 : 4;
  const matrixBytes = arch.quantization.mode === "int8" ? 1 : floatBytes;
  const { modelDims: d, hiddenDims: f, numHeads: n, dimsPerHead: h, vocabSize: v, numLayers: l } = arch;
  const kvHeads = arch.family === "llama" ? arch.numKvHeads : n;
  const attention = d * n * h * 2 + d * kvHeads * h * 2; // q and o, k and v
  const ffn = arch.family === "llama" ? 3 * d * f : 2 * d * f; // gated (SwiGLU) or not (GELU)
  const embeddings = arch.tiedEmbeddings ? d * v : 2 * d * v;
  const vectors = l * (4 * d + f) + d; // norms, biases, per-dim scales (an upper bound)
  return l * (attention + ffn) * matrixBytes + embeddings * floatBytes + vectors * floatBytes;
}

/** Parameters of a vision model: counted for ResNets and the diffusion model, known for the others. */
function visionParameters(arch: VisionServableConfig["architecture"]): number {
  switch (arch.family) {
    case "resnet":
      return resnetParameters(arch.blockCounts, arch.widths, arch.numClasses);
    case "faster_rcnn":
      return FASTER_RCNN_MOBILENET_PARAMETERS;
    case "detectron2":
      return DETECTRON2_PARAMETERS;
    case "tiny_diffusion":
      return diffusionParameters(arch.baseChannels, arch.textDims);
  }
}

/** A bottleneck ResNet's weights, batch-norm statistics included (4 numbers per channel). */
function resnetParameters(blocks: readonly number[], widths: readonly number[], classes: number): number {
  const bn = (channels: number) => 4 * channels;
  let total = 3 * 64 * 49 + bn(64);
  let inputs = 64;
  blocks.forEach((count, stage) => {
    const w = widths[stage] ?? 0;
    for (let block = 0; block < count; block += 1) {
      total += inputs * w + 9 * w * w + w * 4 * w + bn(w) + bn(w) + bn(4 * w);
      if (block === 0) total += inputs * 4 * w + bn(4 * w); // projection shortcut
      inputs = 4 * w;
    }
  });
  return total + inputs * classes + classes;
}

/** The diffusion model's weights: an upper bound over its 3×3 convolutions and text embedding. */
function diffusionParameters(channels: number, textDims: number): number {
  return 12 * 9 * (2 * channels) ** 2 + 256 * textDims + 8 * textDims * 2 * channels;
}
