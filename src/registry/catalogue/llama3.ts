/**
 * LLaMA-3 and LLaMA-3.1 classes of Saxml's `lm_cloud.py`. Several keep the reference's surprises on
 * purpose, since a published model path must mean what it means in Saxml: LLaMA3_8BFP16x1 and
 * LLaMA3_70BFP16x8 inherit BaseLLaMA's shapes (not an 8B/70B shape), and the LLaMA3_70B x16/Int8 classes
 * declare a 32000-entry vocabulary despite the LLaMA-3 tokenizer.
 */
import { derive, entriesOf, LM_CLOUD_MODULE, TEST_MODE, type LlamaConfigInput } from "./define.js";
import { BASE_LLAMA } from "./llama.js";
import { LLAMA_70B_ARCHITECTURE } from "./llama70b.js";

/** Saxml's `BaseLLaMA3` (not registered): tiktoken vocabulary, RoPE θ 500000, no streaming. */
const BASE_LLAMA3: LlamaConfigInput = derive(BASE_LLAMA, {
  architecture: { vocabSize: 128256, ropeTheta: 500000 },
  tokenizer: {
    type: "llama3_tiktoken",
    path: "gs://cloud-tpu-inference-public/sax-tokenizers/llama/llama3-tokenizer.model",
    sosId: 128000,
    eosId: 128001,
  },
  // Saxml: streaming is not yet supported for the tiktoken tokenizer.
  serving: { enableGenerateStream: false },
});

/** Saxml's `BaseLLaMA31` (not registered): LLaMA-3.1 RoPE frequency scaling. */
const BASE_LLAMA31 = derive(BASE_LLAMA3, { architecture: { ropeScaling: {} } });

const INT8_LINEAR_ONLY = { quantization: { mode: "int8", linearOnly: true } } as const;

const LLaMA3_8BFP16x4 = derive(BASE_LLAMA3, {
  architecture: { hiddenDims: 14336, useMqa: true, numKvHeads: 8 },
  meshShapes: [[1, 1, 4]],
});
const LLaMA3_70BFP16x16 = derive(BASE_LLAMA3, {
  // The LLaMA-2 70B shape, vocabulary 32000 included, as the reference sets it despite the LLaMA-3 tokenizer.
  architecture: LLAMA_70B_ARCHITECTURE,
  meshShapes: [[1, 1, 16]],
});
const LLaMA31_405BFP16x64 = derive(BASE_LLAMA31, {
  // A Google-internal path, kept as the reference has it; publish with VOCABULARY_PATH to serve it.
  tokenizer: {
    type: "llama3_tiktoken",
    path: "/cns/mb-d/home/rdzhabarov/llama3/pax_405b/vocabs/tokenizer.model",
    sosId: 128000,
    eosId: 128001,
  },
  architecture: {
    numLayers: 126,
    vocabSize: 128256,
    numHeads: 128,
    modelDims: 16384,
    hiddenDims: 53248,
    useMqa: true,
    numKvHeads: 16,
  },
  meshShapes: [[1, 1, 64]],
});

/** LLaMA-3 and 3.1 classes, in `lm_cloud.py` order. */
export const LLAMA3_ENTRIES = entriesOf(LM_CLOUD_MODULE, {
  LLaMA3_8BFP16x4,
  LLaMA3_8BFP16Testx4: derive(LLaMA3_8BFP16x4, TEST_MODE),
  LLaMA3_8BFP16x1: derive(BASE_LLAMA3, { meshShapes: [[1, 1, 1]] }),
  LLaMA3_70BFP16x16,
  LLaMA31_405BFP16x64,
  LLaMA31_405BLinearOnlyInt8x32: derive(LLaMA31_405BFP16x64, {
    architecture: INT8_LINEAR_ONLY,
    meshShapes: [[1, 1, 32]],
  }),
  LLaMA3_70BFP16x8: derive(BASE_LLAMA3, { meshShapes: [[1, 1, 8]] }),
  LLaMA3_70BInt8LinearOnlyx8: derive(LLaMA3_70BFP16x16, {
    architecture: INT8_LINEAR_ONLY,
    meshShapes: [[1, 1, 8]],
  }),
});
