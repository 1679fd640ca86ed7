/**
 * Vision classes and the torch-registered classes of data-plane spec §2.7, §2.8, §6, plus sax-ts's own
 * vision models for the methods Saxml ships no servable for (vm.detect on CPU, vm.generate).
 *
 * Both ResNet-50 classes also answer vm.embed (the pooled 2048-d features), a sax-ts extension. Their
 * checkpoint is one state-dict file in torchvision's naming (`.safetensors`, or `.pt` read without
 * pickled code), so the same file serves the JAX and the PyTorch class; "None" gives seeded random weights.
 * Detectron2 and vLLM classes need CUDA: model servers on other platforms neither advertise nor load them.
 */
import type { z } from "zod";
import type { visionServableConfigSchema, vllmServableConfigSchema } from "../vision-config.js";
import { entriesOf, type CatalogueEntry } from "./define.js";

type VisionConfigInput = z.input<typeof visionServableConfigSchema>;
type VllmConfigInput = z.input<typeof vllmServableConfigSchema>;

/** ImageNet eval pre-processing of Paxml: centre crop 224/256 of the short side, bicubic to 224², 0–255. */
const PAX_IMAGENET_EVAL = {
  imageSize: 224,
  cropFraction: 0.875,
  mean: [0, 0, 0],
  std: [1, 1, 1],
} satisfies VisionConfigInput["preprocessing"];

/** ResNet-50: bottleneck blocks [3, 4, 6, 3], stage outputs 256…2048 channels, 1000 ImageNet classes. */
const RESNET_50 = {
  family: "resnet" as const,
  blockCounts: [3, 4, 6, 3],
  widths: [64, 128, 256, 512],
  numClasses: 1000,
} satisfies VisionConfigInput["architecture"];

/** `ImageNetResNet50` (Pax): top-5 labels with log-probabilities, meshes [1,1,1], [1,1,4], [1,1,8]. */
const ImageNetResNet50: VisionConfigInput = {
  kind: "vision",
  framework: "jax",
  architecture: RESNET_50,
  methods: ["vm.classify", "vm.embed"],
  preprocessing: PAX_IMAGENET_EVAL,
  topK: 5,
  scores: "log_probs",
  serving: { batchSize: 1 },
  meshShapes: [
    [1, 1, 1],
    [1, 1, 4],
    [1, 1, 8],
  ],
};

/**
 * torch `ResNetModel`: the same pre-processing, then torchvision's mean/std normalisation (on the 0–255
 * scale), top-10 labels with raw logits as scores.
 */
const ResNetModel: VisionConfigInput = {
  ...ImageNetResNet50,
  framework: "torch",
  preprocessing: {
    ...PAX_IMAGENET_EVAL,
    mean: [0.485 * 255, 0.456 * 255, 0.406 * 255],
    std: [0.229 * 255, 0.224 * 255, 0.225 * 255],
  },
  topK: 10,
  scores: "logits",
  meshShapes: [[1, 1, 1]],
  platforms: ["cpu", "cuda"],
};

/** torch `Detectron2Model`: the checkpoint path is a detectron2 `.yaml` config; CUDA only. */
const Detectron2Model: VisionConfigInput = {
  kind: "vision",
  framework: "torch",
  architecture: { family: "detectron2" },
  methods: ["vm.detect"],
  serving: { batchSize: 1 },
  meshShapes: [[1, 1, 1]],
  platforms: ["cuda"],
};

/** vLLM classes: the checkpoint is a Hugging Face model id or path ("None": the default model). */
const vllm = (defaultModel: string): VllmConfigInput => ({
  kind: "vllm",
  defaultModel,
  temperature: 0.7,
  topP: 1.0,
  topK: -1,
  maxTokens: 1024,
  serving: { batchSize: 1, maxLiveBatches: 4 },
  meshShapes: [[1, 1, 1]],
  platforms: ["cuda"],
});

/** Faster R-CNN, MobileNetV3-Large FPN backbone at 320 px: vm.detect on a CPU in well under a second. */
const FasterRcnnMobileNet: VisionConfigInput = {
  kind: "vision",
  framework: "torch",
  architecture: {
    family: "faster_rcnn",
    backbone: "mobilenet_v3_large_320",
    numClasses: 91,
    minSize: 320,
    maxSize: 640,
    scoreThreshold: 0.05,
    detectionsPerImage: 100,
  },
  methods: ["vm.detect"],
  serving: { batchSize: 1 },
  meshShapes: [[1, 1, 1]],
  platforms: ["cpu", "cuda"],
};

/** A small text-to-image diffusion model: two 64×64 PNG images per prompt. */
const TinyDiffusion: VisionConfigInput = {
  kind: "vision",
  framework: "torch",
  architecture: {
    family: "tiny_diffusion",
    imageSize: 64,
    baseChannels: 32,
    textDims: 64,
    maxTextBytes: 64,
    steps: 20,
    numSamples: 2,
  },
  methods: ["vm.generate"],
  serving: { batchSize: 1 },
  meshShapes: [[1, 1, 1]],
  platforms: ["cpu", "cuda"],
};

/** Saxml's vision and torch-registered classes. */
export const VISION_ENTRIES: CatalogueEntry[] = [
  ...entriesOf("saxml.server.pax.vision.params.resnet", { ImageNetResNet50 }),
  ...entriesOf("saxml.server.torch.classify", { ResNetModel }),
  ...entriesOf("saxml.server.torch.detect", { Detectron2Model }),
  ...entriesOf("saxml.server.torch.vllm_params", {
    QWen1P5B: vllm("deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"),
    Gemma4B: vllm("google/gemma-3-4b-it"),
  }),
];

/** sax-ts's own vision models: `saxts.vision.FasterRcnnMobileNet` and `saxts.vision.TinyDiffusion`. */
export const SAXTS_VISION_ENTRIES: CatalogueEntry[] = entriesOf("saxts.vision", {
  FasterRcnnMobileNet,
  TinyDiffusion,
});
