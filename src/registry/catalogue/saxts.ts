/**
 * sax-ts's own servables, small enough for CI on two CPU cores: a few-million-parameter LLaMA over bytes
 * (built by JAX, and the same model built by PyTorch), and the framework-free echo servable for tests of
 * the serving path. All build on a single device.
 */
import type { ServingConfigInput } from "../serving-config.js";
import { BUNDLED_BENCH_SPM_MODEL, BYTE_TOKENIZER } from "../tokenizer-config.js";
import { entriesOf, type CatalogueEntry, type LlamaConfigInput } from "./define.js";

/** Greedy by default, every method on (lm.gradient included), and the LLaMA extra inputs declared so clients can send them. */
const SMALL_SERVING = {
  batchSize: 1,
  inputSeqLen: 128,
  bucketKeys: [32],
  maxDecodeSteps: 32,
  numSamples: 1,
  topK: 1,
  enableGenerateStream: true,
  extraInputs: {
    temperature: 0.0,
    per_example_max_decode_steps: 32,
    per_example_top_k: 1,
    per_example_top_p: 1.0,
  },
  extraInputsDtypes: {
    temperature: "float32",
    per_example_max_decode_steps: "int32",
    per_example_top_k: "int32",
    per_example_top_p: "float32",
  },
  embed: { modelMethodName: "embed", outputEmbeddingName: "embedding" },
  enableGradient: true,
} satisfies ServingConfigInput;

/**
 * A 4-layer LLaMA (GQA 8:4, D 256, F 768; about 3.3M parameters) in float32 over the byte tokenizer.
 * Checkpoint "None" gives seeded random weights; a directory loads trained ones.
 */
const TinyLlama: LlamaConfigInput = {
  kind: "lm",
  framework: "jax",
  architecture: {
    family: "llama",
    numLayers: 4,
    modelDims: 256,
    hiddenDims: 768,
    numHeads: 8,
    numKvHeads: 4,
    dimsPerHead: 32,
    vocabSize: BYTE_TOKENIZER.vocabSize,
    useMqa: true,
    dtype: "float32",
  },
  tokenizer: { type: "bytes" },
  meshShapes: [[1, 1, 1]],
  randomWeightsWhenNoCheckpoint: true,
  // Continuous batching: up to 32 requests decode together and 64 more wait for a slot.
  serving: { ...SMALL_SERVING, numCacheSlots: 32, maxLiveBatches: 64 },
};

/**
 * TinyLlama built by the PyTorch worker backend: the same architecture, tokenizer, checkpoints and (for
 * checkpoint "None" and the same seed) the same random weights, so greedy answers equal TinyLlama's. It
 * decodes one request at a time, so without cache slots; its greedy path therefore ignores the extra
 * inputs, as every class without continuous batching does.
 */
const TinyLlamaTorch: LlamaConfigInput = { ...TinyLlama, framework: "torch", serving: SMALL_SERVING };

/**
 * The peer benchmark's model (`npm run bench -- --peers`): a 45M-parameter LLaMA (L4 D512 F1376, 8 heads
 * of 64, no GQA) in float32 over a 32000-piece SentencePiece vocabulary shipped with the worker, so that
 * llama.cpp and Hugging Face load exactly the weights and vocabulary the cell serves. Continuous batching
 * over 32 slots, as the benchmark's highest concurrency needs; prompt buckets of 8 and 16 tokens besides
 * TinyLlama's 32, since the benchmark's prompts are 5 to 11 tokens and a prefill costs its bucket.
 */
const BenchLlama45M: LlamaConfigInput = {
  ...TinyLlama,
  architecture: {
    ...TinyLlama.architecture,
    numLayers: 4,
    modelDims: 512,
    hiddenDims: 1376,
    numHeads: 8,
    numKvHeads: 8,
    dimsPerHead: 64,
    vocabSize: 32000,
  },
  tokenizer: { type: "sentencepiece", path: BUNDLED_BENCH_SPM_MODEL, sosId: 1, eosId: 2 },
  serving: { ...TinyLlama.serving, bucketKeys: [8, 16, 32] },
};

/** sax-ts's own entries: the `saxts.lm` LLaMAs and `saxts.test.Echo`. */
export const SAXTS_ENTRIES: CatalogueEntry[] = [
  ...entriesOf("saxts.lm", { TinyLlama, TinyLlamaTorch, BenchLlama45M }),
  ...entriesOf("saxts.test", {
    // The echo servable answers the four LM methods of servables/base.py, not lm.gradient.
    Echo: { kind: "echo", meshShapes: [[1, 1, 1]], serving: { ...SMALL_SERVING, enableGradient: false } },
  }),
];
