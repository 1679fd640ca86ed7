/**
 * How much memory a servable needs, estimated from its architecture, so that the admin can pack models
 * of known size onto servers without a `ram` override (Saxml's assigner needs one to share a server).
 */
import type { Architecture } from "./architecture-config.js";
import type { ServableConfig } from "./servable-config.js";

/** Headroom over the weights for the KV cache, activations and the runtime. */
const OVERHEAD_FACTOR = 1.2;
/** What a servable without an architecture (the echo test servable) is counted as. */
const TRIVIAL_SERVABLE_BYTES = 1 << 20;

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
