import { describe, expect, it } from "vitest";
import { ModelServer_ChipTopology, ModelServer_ChipType } from "../../../src/gen/sax/admin.js";
import { estimateServableMemory } from "../../../src/registry/memory-estimate.js";
import { registry } from "./registry-fixtures.js";

const RESNET = "saxml.server.pax.vision.params.resnet.ImageNetResNet50";
const TORCH_RESNET = "saxml.server.torch.classify.ResNetModel";
const DETECTRON2 = "saxml.server.torch.detect.Detectron2Model";
const VLLM = "saxml.server.torch.vllm_params.QWen1P5B";

const host = (platform: "cpu" | "cuda" | "tpu", deviceCount = 1) => ({
  chipType: ModelServer_ChipType.CHIP_TYPE_CPU,
  chipTopology: ModelServer_ChipTopology.CHIP_TOPOLOGY_1,
  deviceCount,
  platform,
});

describe("vision and torch-registered classes", () => {
  it("expose the methods their configs list (vLLM: lm.generate)", () => {
    expect(registry.resolve(RESNET).methods).toEqual(["vm.classify", "vm.embed"]);
    expect(registry.resolve(DETECTRON2).methods).toEqual(["vm.detect"]);
    expect(registry.resolve("saxts.vision.TinyDiffusion").methods).toEqual(["vm.generate"]);
    expect(registry.resolve(VLLM).methods).toEqual(["lm.generate"]);
  });

  it("advertise Detectron2 and vLLM on CUDA servers only", () => {
    const cpu = registry.servablePaths(host("cpu"));
    expect(cpu).toEqual(expect.arrayContaining([RESNET, TORCH_RESNET, "saxts.vision.FasterRcnnMobileNet"]));
    expect(cpu).not.toContain(DETECTRON2);
    expect(cpu).not.toContain(VLLM);
    expect(registry.servablePaths(host("cuda"))).toEqual(expect.arrayContaining([DETECTRON2, VLLM]));
    // The torch ResNet runs on CPU and CUDA, not on TPU hosts; the JAX one runs everywhere.
    expect(registry.servablePaths(host("tpu"))).not.toContain(TORCH_RESNET);
    expect(registry.servablePaths(host("tpu"))).toContain(RESNET);
  });

  it("fail to load on another platform with FAILED_PRECONDITION naming the one they need", () => {
    expect(() => registry.resolve(DETECTRON2, {}, { deviceCount: 1, platform: "cpu" })).toThrow(
      expect.objectContaining({
        code: "FAILED_PRECONDITION",
        message: "it runs only on cuda model servers (--jax_platforms=cuda); this one runs on cpu",
      }),
    );
    expect(registry.resolve(DETECTRON2, {}, { deviceCount: 1, platform: "cuda" }).meshShape).toEqual([
      1, 1, 1,
    ]);
  });

  it("load ImageNetResNet50 on 1, 4 or 8 devices like Saxml's meshes", () => {
    expect(registry.resolve(RESNET, {}, { deviceCount: 4, platform: "tpu" }).meshShape).toEqual([1, 1, 4]);
    expect(() => registry.resolve(RESNET, {}, { deviceCount: 2, platform: "cpu" })).toThrow(
      /Unsupported mesh shape/,
    );
  });

  it("take TOP_K, BATCH_SIZE and IMAGE_SIZE overrides", () => {
    const { config, warnings } = registry.resolve(RESNET, { TOP_K: "3", BATCH_SIZE: "4", IMAGE_SIZE: "160" });
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({ topK: 3, serving: { batchSize: 4 }, preprocessing: { imageSize: 160 } });
    expect(registry.resolve(VLLM, { TOP_K: "50" }).config).toMatchObject({ topK: 50 });
  });

  it("keep the LM serving template's TOP_K for LMs", () => {
    expect(registry.resolve("saxts.lm.TinyLlama", { TOP_K: "7" }).config).toMatchObject({
      serving: { topK: 7 },
    });
  });

  it("size ResNet-50 from its blocks: 25,610,152 float32 numbers with batch-norm statistics", () => {
    // torchvision's resnet50: 25,557,032 parameters plus 53,120 running means and variances.
    const estimate = estimateServableMemory(registry.resolve(RESNET).config);
    expect(estimate.weights).toEqual({ bytes: 25_610_152 * 4, dtype: "float32" });
    expect(estimate.totalBytes).toBe(Math.ceil(25_610_152 * 4 * 1.2));
  });
});
