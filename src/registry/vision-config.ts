/**
 * Vision servable configs (kind `vision`): what a worker builds for the `vm.*` methods of data-plane
 * spec §7. Like LM configs, no field names code: `architecture.family` and `framework` select one of the
 * worker's fixed model builders, everything else is numbers and flags.
 */
import { z } from "zod";
import { meshShapesSchema } from "./mesh-config.js";
import { servingConfigSchema } from "./serving-config.js";

const positiveInt = z.number().int().positive();

/** The worker method of each VisionService RPC (spec §7), in the order of the proto. */
export const VM_METHODS = [
  "vm.classify",
  "vm.generate",
  "vm.text_and_image_to_image",
  "vm.embed",
  "vm.detect",
  "vm.image_to_text",
  "vm.image_to_image",
  "vm.video_to_text",
  "vm.video_to_token",
  "vm.token_to_video",
] as const;

/** Name of a vision data method, e.g. `vm.classify`. */
export type VmMethodName = (typeof VM_METHODS)[number];

/** Platforms a model server may run its workers on (`--jax_platforms`). */
export const PLATFORMS = ["cpu", "cuda", "tpu"] as const;

/** A worker platform. */
export type Platform = (typeof PLATFORMS)[number];

/** The platforms a servable runs on; a server of another platform neither advertises nor loads it. */
export const platformsSchema = z
  .array(z.enum(PLATFORMS))
  .min(1)
  .default((): Platform[] => [...PLATFORMS])
  .describe("platforms whose model servers advertise and load this servable");

/** A bottleneck ResNet (ResNet-50 is blockCounts [3, 4, 6, 3], widths [64, 128, 256, 512]). */
const resnetArchitectureSchema = z.strictObject({
  family: z.literal("resnet"),
  blockCounts: z.tuple([positiveInt, positiveInt, positiveInt, positiveInt]).describe("blocks per stage"),
  widths: z
    .tuple([positiveInt, positiveInt, positiveInt, positiveInt])
    .describe("bottleneck widths per stage; a stage outputs 4× its width"),
  numClasses: positiveInt.describe("classifier outputs; 1000 labels them with the ImageNet classes"),
});

/** torchvision's Faster R-CNN with a MobileNetV3 backbone, labels in COCO's 91-id order. */
const fasterRcnnArchitectureSchema = z.strictObject({
  family: z.literal("faster_rcnn"),
  backbone: z.enum(["mobilenet_v3_large_320", "mobilenet_v3_large"]),
  numClasses: positiveInt.default(91),
  minSize: positiveInt.describe("short side the image is resized to"),
  maxSize: positiveInt.describe("cap on the long side after resizing"),
  scoreThreshold: z.number().min(0).max(1).describe("boxes scoring below it are dropped"),
  detectionsPerImage: positiveInt,
});

/** sax-ts's small text-conditioned diffusion model (DDIM sampling), PNG images out. */
const tinyDiffusionArchitectureSchema = z.strictObject({
  family: z.literal("tiny_diffusion"),
  imageSize: positiveInt,
  baseChannels: positiveInt,
  textDims: positiveInt,
  maxTextBytes: positiveInt.describe("UTF-8 bytes of the prompt the model reads"),
  steps: positiveInt.describe("DDIM denoising steps per image"),
  numSamples: positiveInt.describe("images per request"),
});

/** A detectron2 model whose `.yaml` config is the checkpoint path (CUDA, detectron2 installed). */
const detectron2ArchitectureSchema = z.strictObject({ family: z.literal("detectron2") });

/** ImageNet eval pre-processing: centre crop, bicubic resize, then (pixel − mean) / std per channel. */
const preprocessingSchema = z.strictObject({
  imageSize: positiveInt.describe("side of the square the crop is resized to (IMAGE_SIZE)"),
  cropFraction: z.number().gt(0).max(1).describe("crop side as a fraction of the image's short side"),
  mean: z.tuple([z.number(), z.number(), z.number()]).describe("subtracted per RGB channel (0–255 scale)"),
  std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]),
});

/** The batching knobs of the LM serving template that vision servables share. */
const visionServingSchema = servingConfigSchema.pick({
  batchSize: true,
  maxLiveBatches: true,
  batchWaitSecs: true,
});

/** A vision model run by a JAX or PyTorch worker. */
export const visionServableConfigSchema = z.strictObject({
  kind: z.literal("vision"),
  framework: z.enum(["jax", "torch"]).describe("the worker backend that builds the model"),
  architecture: z.discriminatedUnion("family", [
    resnetArchitectureSchema,
    fasterRcnnArchitectureSchema,
    tinyDiffusionArchitectureSchema,
    detectron2ArchitectureSchema,
  ]),
  methods: z.array(z.enum(VM_METHODS)).min(1).describe("the vm.* methods the model answers"),
  preprocessing: preprocessingSchema.nullable().default(null),
  topK: positiveInt.default(5).describe("labels vm.classify returns (TOP_K)"),
  scores: z
    .enum(["log_probs", "logits"])
    .default("log_probs")
    .describe("vm.classify scores: log-softmax (Pax) or raw logits (torch ResNetModel)"),
  serving: visionServingSchema.prefault({}),
  meshShapes: meshShapesSchema,
  platforms: platformsSchema,
  randomWeightsWhenNoCheckpoint: z
    .boolean()
    .default(true)
    .describe('checkpoint "None" ⇒ seeded random weights, never a download'),
});

/** A validated vision servable config. */
export type VisionServableConfig = z.infer<typeof visionServableConfigSchema>;

/** An LM served by the vLLM library (Saxml's `vllm_params`): CUDA only. */
export const vllmServableConfigSchema = z.strictObject({
  kind: z.literal("vllm"),
  defaultModel: z.string().min(1).describe('Hugging Face model id served for checkpoint "None"'),
  temperature: z.number().nonnegative(),
  topP: z.number().gt(0).max(1),
  topK: z.number().int().describe("-1: the whole vocabulary"),
  maxTokens: positiveInt,
  serving: visionServingSchema.prefault({}),
  meshShapes: meshShapesSchema,
  platforms: platformsSchema,
});

/** A validated vLLM servable config. */
export type VllmServableConfig = z.infer<typeof vllmServableConfigSchema>;
