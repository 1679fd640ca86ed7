/**
 * The GPT-style LmCloudSpmd classes of Saxml's `lm_cloud.py` (data-plane spec §2.3): the 2B family,
 * whose `…Test` variants are the canonical "None"-checkpoint smoke models, and the int8 175B family.
 * Serving knobs not listed are the LM template's defaults (2 samples, top-k 40, lm.score on, no stream).
 */
import { BUNDLED_TEST_SPM_MODEL } from "../tokenizer-config.js";
import { derive, entriesOf, LM_CLOUD_MODULE, TEST_MODE, type LmCloudConfigInput } from "./define.js";

/** Saxml's `LmCloudSpmd2B` (checkpoint gs://sax-data/lm_cloud_2b_mesh_3/1/checkpoints/checkpoint_00000000). */
const LmCloudSpmd2B: LmCloudConfigInput = {
  kind: "lm",
  architecture: {
    family: "lm_cloud",
    numLayers: 18,
    modelDims: 3072,
    hiddenDims: 4 * 3072,
    numHeads: 24,
    dimsPerHead: 128,
    vocabSize: 32000,
  },
  // sax-ts's own 1000-piece vocabulary, standing in for Saxml's test_model.model (VOCAB_SIZE stays 32000).
  tokenizer: { type: "sentencepiece", path: BUNDLED_TEST_SPM_MODEL, sosId: 0, eosId: 1 },
  meshShapes: [[1, 1, 4]],
  serving: { batchSize: 1 },
};

const LmCloudSpmd2BTest = derive(LmCloudSpmd2B, { meshShapes: [[1, 1, 1]], ...TEST_MODE });

const LmCloudSpmd175B = derive(LmCloudSpmd2B, {
  architecture: {
    numLayers: 96,
    modelDims: 12288,
    numHeads: 96,
    dimsPerHead: 128,
    hiddenDims: 4 * 12288,
    quantization: { mode: "int8" },
  },
  meshShapes: [[1, 1, 16]],
  serving: {
    batchSize: 1,
    numSamples: 1,
    inputSeqLen: 128,
    bucketKeys: null,
    maxDecodeSteps: 128,
    // No EXTRA_INPUTS_DTYPES here, so every key, max steps and top-k included, arrives as float32.
    extraInputs: {
      temperature: 0.5,
      per_example_max_decode_steps: 128,
      per_example_top_k: 200,
      per_example_top_p: 0.95,
    },
  },
});

const LmCloudSpmd175BTest = derive(LmCloudSpmd175B, TEST_MODE);

/** LmCloudSpmd classes, in `lm_cloud.py` order. */
export const LM_CLOUD_ENTRIES = entriesOf(LM_CLOUD_MODULE, {
  LmCloudSpmd2B,
  LmCloudSpmd2BTest,
  LmCloudSpmd2B4Test: derive(LmCloudSpmd2BTest, { meshShapes: [[1, 1, 4]] }),
  LmCloudSpmd2B8Test: derive(LmCloudSpmd2BTest, { meshShapes: [[1, 1, 8]] }),
  LmCloudSpmd2B16Test: derive(LmCloudSpmd2BTest, { meshShapes: [[1, 1, 16]] }),
  LmCloudSpmd2B32Test: derive(LmCloudSpmd2BTest, { meshShapes: [[1, 1, 32]] }),
  LmCloudSpmd175B,
  LmCloudSpmd175BTest,
  LmCloudSpmd175B32Test: derive(LmCloudSpmd175BTest, { meshShapes: [[1, 1, 32]] }),
  LmCloudSpmd175B64Test: derive(LmCloudSpmd175BTest, { meshShapes: [[1, 1, 64]] }),
  LmCloudSpmd175B128Test: derive(LmCloudSpmd175BTest, { meshShapes: [[1, 1, 128]] }),
  LmCloudSpmd175B256Test: derive(LmCloudSpmd175BTest, { meshShapes: [[1, 1, 256]] }),
});
