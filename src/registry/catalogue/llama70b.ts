/**
 * LLaMA-2 70B classes of Saxml's `lm_cloud.py`: grouped-query attention (64 query heads, 8 kv heads,
 * separate q/k/v weights). The H100x8 classes set GPU_FLASH_DECODING, so, as in the reference, they are
 * advertised but every load fails INTERNAL "Flash decoding is deprecated." (see load-check.ts).
 */
import { derive, entriesOf, LM_CLOUD_MODULE, TEST_MODE } from "./define.js";
import { BASE_LLAMA, llamaExtraInputs } from "./llama.js";

const INT8_LINEAR_ONLY = { quantization: { mode: "int8", linearOnly: true } } as const;

/** The LLaMA-2 70B shape (GQA 64:8, separate q/k/v weights), shared by LLaMA-3 70B classes. */
export const LLAMA_70B_ARCHITECTURE = {
  numLayers: 80,
  vocabSize: 32000,
  numHeads: 64,
  modelDims: 8192,
  hiddenDims: 28672,
  useMqa: true,
  numKvHeads: 8,
} as const;

const LLaMA70BFP16TPUv5e = derive(BASE_LLAMA, {
  architecture: LLAMA_70B_ARCHITECTURE,
  serving: { enableGenerateStream: false },
  ...TEST_MODE,
});

/** Greedy continuous batching of 1024-token prompts, shared by the MLPerf v5e-8 and H100x8 classes. */
const GREEDY_1K = { inputSeqLen: 1024, bucketKeys: null, numSamples: 1, topK: 1, maxDecodeSteps: 1024 };

const LLaMA70BInt8TPUv5e8 = derive(LLaMA70BFP16TPUv5e, {
  architecture: INT8_LINEAR_ONLY,
  meshShapes: [[1, 1, 8]],
  serving: { ...GREEDY_1K, batchSize: 1, numCacheSlots: 72, extraInputs: llamaExtraInputs(1024, true) },
  testMode: false,
});
const LLaMA70BInt8TokenizedInputTPUv5e8 = derive(LLaMA70BInt8TPUv5e8, {
  serving: { tokenizedInput: true, tokenizedOutput: false },
});
const LLaMA70BFP16H100x8 = derive(LLaMA70BFP16TPUv5e, {
  architecture: { gpuFlashDecoding: true },
  meshShapes: [[1, 1, 8]],
  serving: { ...GREEDY_1K, batchSize: 1, numCacheSlots: 64, extraInputs: llamaExtraInputs(1024) },
  testMode: false,
});
const LLaMA70BInt8H100x8 = derive(LLaMA70BFP16H100x8, {
  architecture: INT8_LINEAR_ONLY,
  serving: { batchSize: 32, numCacheSlots: 128 },
});

/** LLaMA-2 70B classes, in `lm_cloud.py` order. */
export const LLAMA_70B_ENTRIES = entriesOf(LM_CLOUD_MODULE, {
  // The class sets no mesh and so keeps BaseLLaMA's [1,1,1], although its docstring says v5e-16.
  LLaMA70BFP16TPUv5e,
  LLaMA70BInt8TPUv5e8,
  LLaMA70BInt8TokenizedInputTPUv5e8,
  LLaMA70BInt8TokenizedInputTPUv5e8Stream: derive(LLaMA70BInt8TokenizedInputTPUv5e8, {
    serving: {
      tokenizedInput: true,
      tokenizedOutput: true,
      enableGenerate: false,
      enableGenerateStream: true,
    },
  }),
  LLaMA70BFP16TPUv5e16: derive(LLaMA70BFP16TPUv5e, { meshShapes: [[1, 1, 16]], testMode: false }),
  LLaMA70BFP16TPUv5e32: derive(LLaMA70BFP16TPUv5e, { meshShapes: [[1, 1, 32]] }),
  LLaMA70BFP16TPUv5e64: derive(LLaMA70BFP16TPUv5e, { meshShapes: [[1, 1, 64]] }),
  LLaMA70BInt8LinearOnlyx8: derive(LLaMA70BFP16TPUv5e, {
    architecture: INT8_LINEAR_ONLY,
    meshShapes: [[1, 1, 8]],
    testMode: false,
  }),
  LLaMA70BFP16H100x8,
  LLaMA70BInt8H100x8,
  LLaMA70BInt8H100x8BS32: derive(LLaMA70BFP16H100x8, {
    architecture: INT8_LINEAR_ONLY,
    serving: { batchSize: 32, numCacheSlots: 0 },
  }),
  LLaMA70BInt8H100x8Fake: derive(LLaMA70BInt8H100x8, TEST_MODE),
});
