/**
 * The servable config: plain JSON that tells a Python worker what to build and how to serve it. It is
 * the TypeScript counterpart of a Saxml params class after overrides, with one difference that matters
 * for security (data-plane spec §1.7): no field names code. The worker maps `kind`, `architecture.family`
 * and `tokenizer.type` onto its own fixed implementations; everything else is numbers, flags and paths.
 */
import { z } from "zod";
import { architectureSchema, checkArchitecture } from "./architecture-config.js";
import { checkServing, servingConfigSchema, type ServingConfig } from "./serving-config.js";
import { meshShapesSchema, type MeshShape } from "./mesh-config.js";
import { BYTE_TOKENIZER, tokenizerSchema } from "./tokenizer-config.js";
import { visionServableConfigSchema, vllmServableConfigSchema, type VmMethodName } from "./vision-config.js";

export { meshShapeSchema, type MeshShape } from "./mesh-config.js";

/** A language model run by a JAX or PyTorch worker. */
export const lmServableConfigSchema = z.strictObject({
  kind: z.literal("lm"),
  framework: z.enum(["jax", "torch"]).default("jax").describe("the worker backend that builds the model"),
  architecture: architectureSchema.describe("what to build"),
  tokenizer: tokenizerSchema.describe("text ↔ ids"),
  serving: servingConfigSchema.prefault({}).describe("serving knobs (Saxml's LM serving template)"),
  meshShapes: meshShapesSchema.default((): MeshShape[] => [[1, 1, 8]]),
  testMode: z
    .boolean()
    .default(false)
    .describe("ignore the checkpoint path and initialise seeded random weights (Saxml test_mode)"),
  randomWeightsWhenNoCheckpoint: z
    .boolean()
    .default(false)
    .describe('checkpoint "None" ⇒ seeded random weights, a directory ⇒ real weights (sax-ts small models)'),
});

/**
 * sax-ts's deterministic test servable, answered by the worker without a framework: fast tests of the
 * serving path (batching, streaming, extra inputs) with predictable outputs.
 */
export const echoServableConfigSchema = z.strictObject({
  kind: z.literal("echo"),
  serving: servingConfigSchema.prefault({}).describe("serving knobs"),
  meshShapes: meshShapesSchema.default((): MeshShape[] => [[1, 1, 1]]),
});

/** Every servable config, told apart by `kind`, with its cross-field rules. */
export const servableConfigSchema = z
  .discriminatedUnion("kind", [
    lmServableConfigSchema,
    echoServableConfigSchema,
    visionServableConfigSchema,
    vllmServableConfigSchema,
  ])
  .superRefine((config, ctx) => {
    if (config.kind !== "lm" && config.kind !== "echo") return;
    checkServing(config.serving, ctx, ["serving"]);
    if (config.kind !== "lm") return;
    checkArchitecture(config.architecture, ctx, ["architecture"]);
    checkTorch(config, ctx);
    if (config.tokenizer.type === "bytes" && config.architecture.vocabSize < BYTE_TOKENIZER.vocabSize) {
      ctx.addIssue({
        code: "custom",
        path: ["architecture", "vocabSize"],
        message: `the bytes tokenizer needs vocabSize ≥ ${BYTE_TOKENIZER.vocabSize}`,
      });
    }
  });

/** What the PyTorch backend builds: LLaMA-family models, decoding one request at a time. */
function checkTorch(config: z.infer<typeof lmServableConfigSchema>, ctx: z.RefinementCtx): void {
  if (config.framework !== "torch") return;
  if (config.architecture.family !== "llama") {
    ctx.addIssue({
      code: "custom",
      path: ["framework"],
      message: `the torch backend builds the llama family only, not ${config.architecture.family}`,
    });
  }
  if (config.serving.numCacheSlots > 0) {
    ctx.addIssue({
      code: "custom",
      path: ["serving", "numCacheSlots"],
      message: "the torch backend decodes one request at a time: continuous batching needs the jax framework",
    });
  }
}

/** A validated servable config. */
export type ServableConfig = z.infer<typeof servableConfigSchema>;

/** A servable config as written in the catalogue (defaults not yet applied). */
export type ServableConfigInput = z.input<typeof servableConfigSchema>;

/** A validated LM servable config. */
export type LmServableConfig = z.infer<typeof lmServableConfigSchema>;

/** Data methods a servable may expose, by Saxml name. */
export const LM_METHODS = {
  score: "lm.score",
  generate: "lm.generate",
  generateStream: "lm.generate_stream",
  embed: "lm.embed",
  gradient: "lm.gradient",
} as const;

/** Name of an LM data method, e.g. `lm.generate`. */
export type LmMethodName = (typeof LM_METHODS)[keyof typeof LM_METHODS];

/** Name of a data method, LM or vision. */
export type DataMethodName = LmMethodName | VmMethodName;

/**
 * The data methods a servable exposes: an LM's by its serving template (`lmMethodsOf`), a vision
 * model's as its config lists them, a vLLM model's lm.generate.
 */
export function methodsOf(config: ServableConfig): DataMethodName[] {
  switch (config.kind) {
    case "lm":
    case "echo":
      return lmMethodsOf(config.serving);
    case "vision":
      return [...config.methods];
    case "vllm":
      return [LM_METHODS.generate];
  }
}

/**
 * The methods an LM exposes, in Saxml's order (score, generate, generate_stream, embed, gradient),
 * by the template rules of data-plane spec §1.4.
 */
export function lmMethodsOf(serving: ServingConfig): LmMethodName[] {
  const embedNamed = serving.embed.modelMethodName !== null && serving.embed.outputEmbeddingName !== null;
  const candidates: [LmMethodName, boolean][] = [
    [LM_METHODS.score, serving.enableScore && !serving.generateOnly],
    [LM_METHODS.generate, serving.enableGenerate && !serving.scoreOnly],
    [LM_METHODS.generateStream, serving.enableGenerateStream && !serving.scoreOnly && !serving.useBeamSearch],
    [LM_METHODS.embed, embedNamed && !serving.generateOnly],
    [LM_METHODS.gradient, serving.enableGradient],
  ];
  return candidates.filter(([, exists]) => exists).map(([name]) => name);
}

/** A registry entry selected by a Load, with overrides applied: everything a worker needs. */
export interface ResolvedServable {
  /** Full registration name, e.g. `saxml.server.pax.lm.params.lm_cloud.LmCloudSpmd2BTest`. */
  readonly path: string;
  /** The validated config, overrides applied. */
  readonly config: ServableConfig;
  /** Data methods the servable exposes (`methodsOf`). */
  readonly methods: readonly DataMethodName[];
  /** The mesh shape chosen for the device count the caller gave; null when none was given. */
  readonly meshShape: MeshShape | null;
  /** Overrides that were skipped, one sentence each (unknown attribute, invalid JSON). */
  readonly warnings: readonly string[];
}
