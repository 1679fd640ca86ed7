/**
 * LLaMA-1/2 7B…65B classes of Saxml's `lm_cloud.py` (data-plane spec §2.1, §2.2), and the unregistered
 * `BaseLLaMA` they inherit from, which the 70B and LLaMA-3 files build on too.
 */
import { derive, entriesOf, LM_CLOUD_MODULE, TEST_MODE, type LlamaConfigInput } from "./define.js";

/** The four per-request decoding knobs every LLaMA class declares, with its max-steps default. */
export function llamaExtraInputs(maxDecodeSteps: number, greedy = false) {
  return greedy
    ? {
        temperature: 0.0,
        per_example_max_decode_steps: maxDecodeSteps,
        per_example_top_k: 1,
        per_example_top_p: null,
      }
    : {
        temperature: 0.5,
        per_example_max_decode_steps: maxDecodeSteps,
        per_example_top_k: 200,
        per_example_top_p: 0.95,
      };
}

/**
 * Saxml's `BaseLLaMA` (not registered): 7B-like dims with F = 4·D, MHA with a combined QKV weight,
 * bf16, the LLaMA SentencePiece vocab, long-context sampling with streaming, no lm.score.
 */
export const BASE_LLAMA: LlamaConfigInput = {
  kind: "lm",
  architecture: {
    family: "llama",
    numLayers: 32,
    modelDims: 4096,
    hiddenDims: 4 * 4096,
    numHeads: 32,
    numKvHeads: 32,
    dimsPerHead: 128,
    vocabSize: 32000,
  },
  tokenizer: {
    type: "sentencepiece",
    path: "gs://cloud-tpu-inference-public/sax-tokenizers/llama/llama-tokenizer.model",
    sosId: 1,
    eosId: 2,
  },
  meshShapes: [[1, 1, 1]],
  serving: {
    batchSize: 1,
    numSamples: 1,
    generateOnly: true,
    enableGenerateStream: true,
    streamIntervalSteps: 16,
    inputSeqLen: 4096,
    bucketKeys: [128, 1024, 4096],
    maxDecodeSteps: [128, 512, 1024],
    extraInputs: llamaExtraInputs(128),
    extraInputsDtypes: {
      temperature: "float32",
      per_example_max_decode_steps: "int32",
      per_example_top_k: "int32",
      per_example_top_p: "float32",
    },
    numCacheSlots: 0,
  },
};

const LLAMA_7B = { hiddenDims: 11008 };
const INT8 = { quantization: { mode: "int8" } } as const;

const LLaMA7BFP16 = derive(BASE_LLAMA, {
  architecture: LLAMA_7B,
  serving: { inputSeqLen: 128, bucketKeys: null, maxDecodeSteps: 32, enableGenerateStream: false },
});
const LLaMA7B = derive(BASE_LLAMA, { architecture: LLAMA_7B, ...TEST_MODE });
const LLaMA7BTPUv5e4 = derive(LLaMA7B, {
  testMode: false,
  meshShapes: [[1, 1, 4]],
  serving: {
    topK: 1,
    batchSize: 32,
    inputSeqLen: 1024,
    maxDecodeSteps: 1024,
    bucketKeys: [1024],
    enableGenerateStream: false,
    extraInputs: llamaExtraInputs(1024),
  },
});

/** LLaMA-1/2 classes up to 65B, in `lm_cloud.py` order. */
export const LLAMA_ENTRIES = entriesOf(LM_CLOUD_MODULE, {
  LLaMA7BFP16,
  LLaMA7BFP16TPUv4: derive(LLaMA7BFP16, { meshShapes: [[1, 1, 4]], ...TEST_MODE }),
  LLaMA7BFP16TPUv5e: derive(LLaMA7BFP16, {
    meshShapes: [[1, 1, 4]],
    serving: { batchSize: [1], bucketKeys: [128], maxDecodeSteps: [32] },
  }),
  LLaMA7B,
  LLaMA7BTPUv5e4,
  LLaMA7BTPUv5e8: derive(LLaMA7BTPUv5e4, { meshShapes: [[1, 1, 8]] }),
  LLaMA7BTPUv5e16: derive(LLaMA7BTPUv5e4, { meshShapes: [[1, 1, 16]] }),
  // These two override score() to return None; GENERATE_ONLY already hides lm.score.
  LLaMA7BContinuousBatchingTPUv5e4: derive(LLaMA7BTPUv5e4, {
    serving: { batchSize: 1, numCacheSlots: 16, enableScore: false },
  }),
  LLaMA7BContinuousBatchingTPUv5e8: derive(LLaMA7BTPUv5e4, {
    meshShapes: [[1, 1, 8]],
    serving: { batchSize: 1, numCacheSlots: 16, enableScore: false },
  }),
  LLaMA7BH100BS8: derive(LLaMA7BTPUv5e4, {
    meshShapes: [[1, 1, 1]],
    serving: { batchSize: 8, numCacheSlots: 0 },
  }),
  LLaMA7BH100: derive(LLaMA7BTPUv5e4, {
    meshShapes: [[1, 1, 1]],
    serving: { batchSize: 8, numCacheSlots: 16 },
  }),
  LLaMA13B: derive(BASE_LLAMA, {
    architecture: {
      numLayers: 40,
      numHeads: 40,
      numKvHeads: 40,
      modelDims: 5120,
      hiddenDims: 13824,
      ...INT8,
    },
    ...TEST_MODE,
  }),
  LLaMA33B: derive(BASE_LLAMA, {
    architecture: {
      numLayers: 60,
      numHeads: 52,
      numKvHeads: 52,
      modelDims: 6656,
      hiddenDims: 17920,
      ...INT8,
    },
    meshShapes: [[1, 1, 4]],
    ...TEST_MODE,
  }),
  LLaMA65B: derive(BASE_LLAMA, {
    architecture: {
      numLayers: 80,
      numHeads: 64,
      numKvHeads: 64,
      modelDims: 8192,
      hiddenDims: 22016,
      ...INT8,
    },
    meshShapes: [[1, 1, 4]],
    ...TEST_MODE,
  }),
});
