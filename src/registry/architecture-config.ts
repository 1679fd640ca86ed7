/**
 * Model architectures a worker can build, one variant per family. Each variant carries the exact
 * dimensions of a Saxml params class plus the family-wide choices (norms, caps, positions) as defaulted
 * fields, so a worker reads every number from the config rather than from a class name.
 */
import { z } from "zod";

const positiveInt = z.number().int().positive();

/** Weight and activation dtypes. Saxml's "FP16" class names mean bfloat16. */
export const dtypeSchema = z.enum(["float32", "bfloat16"]);

/** Weight and activation dtype. */
export type Dtype = z.infer<typeof dtypeSchema>;

/**
 * Weight quantisation. `int8` is Saxml's `quantize_on_the_fly=False`: the checkpoint already holds int8
 * `w` with a float `w_quantized_scale` per output channel (symmetric, 8 bits).
 */
export const quantizationSchema = z.discriminatedUnion("mode", [
  z.strictObject({ mode: z.literal("none") }),
  z.strictObject({
    mode: z.literal("int8"),
    linearOnly: z
      .boolean()
      .default(false)
      .describe("quantise only the FFN linears; false quantises attention projections too"),
  }),
]);

/** Weight quantisation. */
export type Quantization = z.infer<typeof quantizationSchema>;

/** LLaMA-3.1 RoPE frequency scaling (data-plane spec §12). */
export const ropeScalingSchema = z.strictObject({
  factor: z.number().positive().default(8).describe("low frequencies are divided by this"),
  lowFreqFactor: z.number().positive().default(1).describe("wavelengths above context/this are scaled"),
  highFreqFactor: z.number().positive().default(4).describe("wavelengths below context/this are kept"),
  originalMaxPositions: positiveInt.default(8192).describe("context length the model was trained with"),
});

/** LLaMA-3.1 RoPE frequency scaling. */
export type RopeScaling = z.infer<typeof ropeScalingSchema>;

/**
 * LLaMA (data-plane spec §2.1, §12): pre-norm RMSNorm with the scale used directly, interleaved-pair
 * RoPE over all head dims, SwiGLU FFN, no biases, no position embedding, no logit caps.
 */
export const llamaArchitectureSchema = z.strictObject({
  family: z.literal("llama"),
  numLayers: positiveInt.describe("L (NUM_LAYERS)"),
  modelDims: positiveInt.describe("D (MODEL_DIMS)"),
  hiddenDims: positiveInt.describe("F, the SwiGLU hidden width (HIDDEN_DIMS)"),
  numHeads: positiveInt.describe("N query heads (NUM_HEADS)"),
  numKvHeads: positiveInt.describe("K kv heads; query head n uses kv head ⌊n/(N/K)⌋ (NUM_KV_HEADS)"),
  dimsPerHead: positiveInt.describe("H (DIMS_PER_HEAD)"),
  vocabSize: positiveInt.describe("V, rows of the embedding and columns of the output (VOCAB_SIZE)"),
  useMqa: z
    .boolean()
    .default(false)
    .describe("separate q/k/v weights (USE_MQA, set on GQA classes); false ⇒ one combined QKV weight"),
  ropeTheta: z.number().positive().default(10000).describe("RoPE base; LLaMA-3 uses 500000"),
  ropeScaling: ropeScalingSchema.nullable().default(null).describe("LLaMA-3.1 frequency scaling, or null"),
  normEps: z.number().positive().default(1e-5).describe("RMSNorm epsilon (RMS_NORM_EPSILON)"),
  tiedEmbeddings: z.boolean().default(false).describe("output projection shares the embedding table"),
  dtype: dtypeSchema.default("bfloat16").describe("weights and activations (FPROP_DTYPE, MODEL_DTYPE)"),
  quantization: quantizationSchema.prefault({ mode: "none" }).describe("weight quantisation"),
  gpuFlashDecoding: z
    .boolean()
    .default(false)
    .describe(
      'GPU_FLASH_DECODING; with useMqa the load fails INTERNAL "Flash decoding is deprecated." (H100x8 classes)',
    ),
});

/** LLaMA architecture. */
export type LlamaArchitecture = z.infer<typeof llamaArchitectureSchema>;

/**
 * Paxml's GPT-style `LmCloudSpmd` (data-plane spec §2.3): tied embedding/softmax (lookup × √D),
 * sinusoidal positions added to embeddings, pre-norm LayerNorm with bias and `1+scale`, combined QKV
 * without bias, learned per-dim query scale, soft-capped attention and output logits, GELU FFN with
 * biases, layers stored stacked (`lm.transformer.repeat.sub.x_layers_0.*`).
 */
export const lmCloudArchitectureSchema = z.strictObject({
  family: z.literal("lm_cloud"),
  numLayers: positiveInt.describe("L (NUM_LAYERS)"),
  modelDims: positiveInt.describe("D (MODEL_DIMS)"),
  hiddenDims: positiveInt.describe("F (HIDDEN_DIMS)"),
  numHeads: positiveInt.describe("N (NUM_HEADS)"),
  dimsPerHead: positiveInt.describe("H (DIMS_PER_HEAD)"),
  vocabSize: positiveInt.describe("V (VOCAB_SIZE)"),
  normEps: z.number().positive().default(1e-6).describe("LayerNorm epsilon"),
  attentionLogitSoftCap: z.number().positive().default(50).describe("cap·tanh(x/cap) on attention logits"),
  outputLogitSoftCap: z.number().positive().default(30).describe("cap·tanh(x/cap) on output logits"),
  perDimScale: z.boolean().default(true).describe("learned per-dim query scale"),
  activation: z.enum(["gelu_tanh"]).default("gelu_tanh").describe("FFN activation (non-gated)"),
  tiedEmbeddings: z.boolean().default(true).describe("softmax weights double as the embedding table"),
  positionEmbedding: z
    .enum(["sinusoidal"])
    .default("sinusoidal")
    .describe("absolute positions, timescales 1…10000"),
  repeatedLayers: z.boolean().default(true).describe("layer weights stacked along a leading axis"),
  dtype: dtypeSchema.default("bfloat16").describe("activations; weights held in this dtype after load"),
  quantization: quantizationSchema.prefault({ mode: "none" }).describe("weight quantisation"),
});

/** LmCloud (GPT-style) architecture. */
export type LmCloudArchitecture = z.infer<typeof lmCloudArchitectureSchema>;

/** Every architecture, told apart by `family`. */
export const architectureSchema = z.discriminatedUnion("family", [
  llamaArchitectureSchema,
  lmCloudArchitectureSchema,
]);

/** A model architecture. */
export type Architecture = z.infer<typeof architectureSchema>;

/** Adds an issue for every cross-field rule of `architecture` that fails; paths are relative to `at`. */
export function checkArchitecture(arch: Architecture, ctx: z.RefinementCtx, at: readonly string[]): void {
  if (arch.family !== "llama") return;
  const issue = (message: string) => ctx.addIssue({ code: "custom", path: [...at, "numKvHeads"], message });
  if (arch.numHeads % arch.numKvHeads !== 0) {
    issue(`numHeads ${arch.numHeads} is not a multiple of numKvHeads ${arch.numKvHeads}`);
  } else if (!arch.useMqa && arch.numKvHeads !== arch.numHeads) {
    issue(`a combined QKV weight (useMqa false) needs numKvHeads = numHeads (${arch.numHeads})`);
  }
}
