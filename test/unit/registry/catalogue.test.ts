import { describe, expect, it } from "vitest";
import { CATALOGUE, servableConfigSchema } from "../../../src/registry/index.js";
import { LM_CLOUD_CLASSES, lmCloud, lmConfig, registry } from "./registry-fixtures.js";

function llama(name: string) {
  const { architecture } = lmConfig(name);
  if (architecture.family !== "llama") throw new Error(`${name} is not a LLaMA`);
  return architecture;
}

describe("catalogue", () => {
  it("registers lm_cloud.py's classes in order, the vision and torch classes, then sax-ts's own", () => {
    expect(registry.fullNames()).toEqual([
      ...LM_CLOUD_CLASSES.map(lmCloud),
      "saxml.server.pax.vision.params.resnet.ImageNetResNet50",
      "saxml.server.torch.classify.ResNetModel",
      "saxml.server.torch.detect.Detectron2Model",
      "saxml.server.torch.vllm_params.QWen1P5B",
      "saxml.server.torch.vllm_params.Gemma4B",
      "saxts.lm.TinyLlama",
      "saxts.lm.TinyLlamaTorch",
      "saxts.lm.BenchLlama45M",
      "saxts.test.Echo",
      "saxts.vision.FasterRcnnMobileNet",
      "saxts.vision.TinyDiffusion",
    ]);
  });

  it.each(CATALOGUE.map((entry) => entry.path))("validates %s", (path) => {
    const { config } = registry.resolve(path);
    expect(servableConfigSchema.parse(config)).toEqual(config);
  });

  it("leaves the unregistered bases out", () => {
    for (const base of ["BaseLLaMA", "BaseLLaMA3", "BaseLLaMA31", "BaseLLaMATest", "BaseNeoX"]) {
      expect(registry.lookup(lmCloud(base))).toBeUndefined();
    }
  });

  it("gives LLaMA70B grouped-query attention with 8 kv heads and separate q/k/v", () => {
    expect(llama("LLaMA70BFP16TPUv5e")).toMatchObject({
      numLayers: 80,
      modelDims: 8192,
      hiddenDims: 28672,
      numHeads: 64,
      numKvHeads: 8,
      vocabSize: 32000,
      useMqa: true,
    });
  });

  it("gives LLaMA7BFP16 the LLaMA-2 7B shape in bfloat16 with a combined QKV", () => {
    expect(llama("LLaMA7BFP16")).toMatchObject({ numLayers: 32, hiddenDims: 11008, numKvHeads: 32 });
    expect(llama("LLaMA7BFP16")).toMatchObject({ useMqa: false, dtype: "bfloat16", normEps: 1e-5 });
  });

  it("keeps LLaMA3_70BFP16x16's 32000-entry vocabulary despite the LLaMA-3 tokenizer", () => {
    expect(llama("LLaMA3_70BFP16x16")).toMatchObject({ vocabSize: 32000, ropeTheta: 500000 });
    expect(lmConfig("LLaMA3_70BFP16x16").tokenizer).toMatchObject({ type: "llama3_tiktoken", sosId: 128000 });
  });

  it("gives LLaMA3_8BFP16x1 and LLaMA3_70BFP16x8 the base shapes, unlike LLaMA3_8BFP16x4", () => {
    const base = { numLayers: 32, modelDims: 4096, hiddenDims: 16384, numKvHeads: 32, vocabSize: 128256 };
    expect(llama("LLaMA3_8BFP16x1")).toMatchObject(base);
    expect(llama("LLaMA3_70BFP16x8")).toMatchObject(base);
    expect(llama("LLaMA3_8BFP16x4")).toMatchObject({ hiddenDims: 14336, numKvHeads: 8 });
  });

  it("gives the 405B classes their dims, RoPE scaling and int8 linear-only variant", () => {
    expect(llama("LLaMA31_405BFP16x64")).toMatchObject({
      numLayers: 126,
      modelDims: 16384,
      hiddenDims: 53248,
      numHeads: 128,
      numKvHeads: 16,
      vocabSize: 128256,
      ropeScaling: { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 },
    });
    expect(llama("LLaMA31_405BLinearOnlyInt8x32").quantization).toEqual({ mode: "int8", linearOnly: true });
  });

  it("pre-quantises LLaMA13B/33B/65B fully and the 70B Int8 classes linear-only", () => {
    expect(llama("LLaMA33B").quantization).toEqual({ mode: "int8", linearOnly: false });
    expect(llama("LLaMA70BInt8TPUv5e8").quantization).toEqual({ mode: "int8", linearOnly: true });
    expect(llama("LLaMA70BFP16TPUv5e16").quantization).toEqual({ mode: "none" });
  });

  it("runs LmCloudSpmd2BTest in test mode on [1,1,1] with the template's serving defaults", () => {
    const config = lmConfig("LmCloudSpmd2BTest");
    expect(config).toMatchObject({ testMode: true, meshShapes: [[1, 1, 1]] });
    expect(config.serving).toMatchObject({ inputSeqLen: 256, maxDecodeSteps: 32, numSamples: 2, topK: 40 });
    expect(config.serving.extraInputs).toEqual({ temperature: 0.1 });
    expect(config.tokenizer).toEqual({
      type: "sentencepiece",
      path: "bundled:sax_test_1000.model",
      sosId: 0,
      eosId: 1,
    });
  });

  it("gives LmCloudSpmd2B the GPT-style architecture on [1,1,4], not in test mode", () => {
    const config = lmConfig("LmCloudSpmd2B");
    expect(config).toMatchObject({ testMode: false, meshShapes: [[1, 1, 4]] });
    expect(config.architecture).toMatchObject({
      family: "lm_cloud",
      numLayers: 18,
      modelDims: 3072,
      hiddenDims: 12288,
      numHeads: 24,
      attentionLogitSoftCap: 50,
      outputLogitSoftCap: 30,
      tiedEmbeddings: true,
    });
  });

  it("gives LmCloudSpmd175B its dims, int8 weights and serving knobs", () => {
    const config = lmConfig("LmCloudSpmd175B");
    expect(config.architecture).toMatchObject({
      numLayers: 96,
      modelDims: 12288,
      hiddenDims: 49152,
      numHeads: 96,
    });
    expect(config.architecture.quantization).toEqual({ mode: "int8", linearOnly: false });
    expect(config.serving).toMatchObject({
      numSamples: 1,
      inputSeqLen: 128,
      maxDecodeSteps: 128,
      bucketKeys: null,
    });
    expect(config.serving.extraInputsDtypes).toEqual({});
  });

  it("gives the 175B test variants their meshes in test mode", () => {
    expect(lmConfig("LmCloudSpmd175BTest")).toMatchObject({ testMode: true, meshShapes: [[1, 1, 16]] });
    expect(lmConfig("LmCloudSpmd175B256Test")).toMatchObject({ testMode: true, meshShapes: [[1, 1, 256]] });
  });

  it("copies the LLaMA serving knobs of §2.2 (spot checks)", () => {
    expect(lmConfig("LLaMA7B").serving).toMatchObject({
      inputSeqLen: 4096,
      bucketKeys: [128, 1024, 4096],
      maxDecodeSteps: [128, 512, 1024],
      streamIntervalSteps: 16,
    });
    expect(lmConfig("LLaMA7BH100").serving).toMatchObject({ batchSize: 8, numCacheSlots: 16, topK: 1 });
    expect(lmConfig("LLaMA70BInt8TPUv5e8").serving.extraInputs).toMatchObject({ per_example_top_p: null });
  });

  it("keeps the reference's test-mode flags, e.g. LLaMA70BFP16TPUv5e32 yes and …16 no", () => {
    expect(lmConfig("LLaMA70BFP16TPUv5e32").testMode).toBe(true);
    expect(lmConfig("LLaMA70BFP16TPUv5e16").testMode).toBe(false);
    expect(lmConfig("LLaMA70BInt8H100x8Fake").testMode).toBe(true);
  });
});

describe("saxts.lm.BenchLlama45M", () => {
  it("is the peer benchmark's 45M LLaMA over the bundled 32k vocabulary", () => {
    const { config } = registry.resolve("saxts.lm.BenchLlama45M");
    expect(config).toMatchObject({
      architecture: {
        numLayers: 4,
        modelDims: 512,
        hiddenDims: 1376,
        numHeads: 8,
        numKvHeads: 8,
        dimsPerHead: 64,
        vocabSize: 32000,
        dtype: "float32",
      },
      tokenizer: { type: "sentencepiece", path: "bundled:bench_32k.model", sosId: 1, eosId: 2 },
      randomWeightsWhenNoCheckpoint: true,
      serving: { numCacheSlots: 32 },
    });
  });
});
