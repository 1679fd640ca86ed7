/**
 * Which Saxml class attribute (the key of a Publish override) lands on which config field, and what
 * Python type its numbers have there, so that overrides follow Saxml's exact type rules (§1.5).
 * A key a servable lacks is "absent": a missing field (NUM_KV_HEADS on LmCloud), a tokenizer of another
 * kind (SPM_MODEL on tiktoken), or any key not listed here.
 */
import type { ServableConfig } from "./servable-config.js";

/** How Python would type a number held by the attribute. */
export type NumberKind = "int" | "float";

/** Stands for a Python property (Saxml's `test_mode`): no JSON value but null has its type. */
export const PROPERTY = Symbol("property");

/** One overridable attribute. */
export interface OverrideBinding {
  /** Python type of numbers at this attribute. */
  readonly number: NumberKind;
  /** The attribute's current value, or undefined when the servable has no such attribute. */
  read(config: ServableConfig): { readonly value: unknown } | undefined;
  /** Stores `value` into `draft`, a deep copy of a config that `read` found the attribute on. */
  write(draft: Record<string, unknown>, value: unknown): void;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The attribute stored at `path`, present only when `when` holds. */
function field(
  path: readonly [string, ...string[]],
  number: NumberKind = "int",
  when: (config: ServableConfig) => boolean = () => true,
): OverrideBinding {
  const parentOf = (root: unknown): Record<string, unknown> | undefined => {
    let node = root;
    for (const key of path.slice(0, -1)) node = isRecord(node) ? node[key] : undefined;
    return isRecord(node) ? node : undefined;
  };
  const last = path[path.length - 1] ?? path[0];
  return {
    number,
    read(config) {
      const parent = parentOf(config);
      return when(config) && parent && Object.hasOwn(parent, last) ? { value: parent[last] } : undefined;
    },
    write(draft, value) {
      const parent = parentOf(draft);
      if (parent) parent[last] = value;
    },
  };
}

const serving = (name: string, number: NumberKind = "int") => field(["serving", name], number);
const arch = (name: string, number: NumberKind = "int") => field(["architecture", name], number);
const tokenizer = (name: string, kinds: readonly string[]) =>
  field(
    ["tokenizer", name],
    "int",
    (config) => config.kind === "lm" && kinds.includes(config.tokenizer.type),
  );
const isLlama = (config: ServableConfig) => config.kind === "lm" && config.architecture.family === "llama";

/** An attribute that lives in different places on different kinds: the first binding that finds it. */
function firstOf(...bindings: readonly OverrideBinding[]): OverrideBinding {
  const holder = (config: ServableConfig) => bindings.find((binding) => binding.read(config) !== undefined);
  return {
    number: bindings[0]?.number ?? "int",
    read: (config) => holder(config)?.read(config),
    write(draft, value) {
      holder(draft as unknown as ServableConfig)?.write(draft, value);
    },
  };
}

/** ICI_MESH_SHAPE: one shape reads as that shape; a list of shapes as the list (both Python lists). */
const ICI_MESH_SHAPE: OverrideBinding = {
  number: "int",
  read: (config) => ({ value: config.meshShapes.length === 1 ? config.meshShapes[0] : config.meshShapes }),
  write(draft, value) {
    const single = Array.isArray(value) && value.every((dim) => typeof dim === "number");
    draft["meshShapes"] = single ? [value] : value;
  },
};

/** test_mode is a property on every lm_cloud class: only null passes, and it makes test mode falsy. */
const TEST_MODE: OverrideBinding = {
  number: "int",
  read: (config) => (config.kind === "lm" ? { value: PROPERTY } : undefined),
  write(draft) {
    draft["testMode"] = false;
  },
};

/** Every overridable attribute, by its Saxml name. */
export const OVERRIDE_KEYS: ReadonlyMap<string, OverrideBinding> = new Map([
  ["ICI_MESH_SHAPE", ICI_MESH_SHAPE],
  ["test_mode", TEST_MODE],
  ["BATCH_SIZE", serving("batchSize")],
  ["MAX_LIVE_BATCHES", serving("maxLiveBatches")],
  ["BATCH_WAIT_SECS", serving("batchWaitSecs", "float")],
  ["INPUT_SEQ_LEN", serving("inputSeqLen")],
  ["SUFFIX_SEQ_LEN", serving("suffixSeqLen")],
  ["BUCKET_KEYS", serving("bucketKeys")],
  ["MAX_DECODE_STEPS", serving("maxDecodeSteps")],
  ["MIN_DECODE_STEPS", serving("minDecodeSteps")],
  ["MAX_SEQ_LEN", serving("maxSeqLen")],
  ["NUM_SAMPLES", serving("numSamples")],
  ["TOP_K", firstOf(serving("topK"), field(["topK"]))],
  ["IMAGE_SIZE", field(["preprocessing", "imageSize"])],
  ["SCORE_THRESHOLD", field(["architecture", "scoreThreshold"], "float")],
  ["TEMPERATURE", serving("temperature", "float")],
  ["SORT_SAMPLES", serving("sortSamples")],
  ["USE_BEAM_SEARCH", serving("useBeamSearch")],
  ["BEAM_SIZE", serving("beamSize")],
  ["LENGTH_NORM_ALPHA", serving("lengthNormAlpha", "float")],
  ["GENERATE_ONLY", serving("generateOnly")],
  ["SCORE_ONLY", serving("scoreOnly")],
  ["ENABLE_GENERATE", serving("enableGenerate")],
  ["ENABLE_GENERATE_STREAM", serving("enableGenerateStream")],
  ["STREAM_INTERVAL_STEPS", serving("streamIntervalSteps")],
  ["INCLUDE_PREFIX_IN_RESULT", serving("includePrefixInResult")],
  ["TOKENIZED_INPUT", serving("tokenizedInput")],
  ["TOKENIZED_OUTPUT", serving("tokenizedOutput")],
  ["EOS_PADDING_AND_NO_SOS", serving("eosPaddingAndNoSos")],
  ["SLICE_LEFT", serving("sliceLeft")],
  ["PREPEND_SOS", serving("prependSos")],
  ["FAIL_ON_INPUT_TRUNCATION", serving("failOnInputTruncation")],
  ["STOP_TOKEN_IDS", serving("stopTokenIds")],
  ["EXTRA_INPUTS", serving("extraInputs")],
  ["EXTRA_INPUTS_DTYPES", serving("extraInputsDtypes")],
  ["SCORE_EXTRA_INPUTS", serving("scoreExtraInputs")],
  ["NUM_CACHE_SLOTS", serving("numCacheSlots")],
  ["SCORING_INCLUDE_EOS_SCORE", serving("scoringIncludeEosScore")],
  ["SCORING_USE_GEOMEAN_PROB_SCORE", serving("scoringUseGeomeanProbScore")],
  ["GENERATION_USE_GEOMEAN_PROB_SCORE", serving("generationUseGeomeanProbScore")],
  ["TEXT_TO_EMBEDDING_SERVING_BATCH_SIZE", field(["serving", "embed", "batchSize"])],
  ["TEXT_TO_EMBEDDING_MAX_LIVE_BATCHES", field(["serving", "embed", "maxLiveBatches"])],
  ["TEXT_TO_EMBEDDING_MODEL_METHOD_NAME", field(["serving", "embed", "modelMethodName"])],
  ["TEXT_TO_EMBEDDING_OUTPUT_EMBEDDING_NAME", field(["serving", "embed", "outputEmbeddingName"])],
  ["NUM_LAYERS", arch("numLayers")],
  ["MODEL_DIMS", arch("modelDims")],
  ["HIDDEN_DIMS", arch("hiddenDims")],
  ["NUM_HEADS", arch("numHeads")],
  ["NUM_KV_HEADS", arch("numKvHeads")],
  ["DIMS_PER_HEAD", arch("dimsPerHead")],
  ["VOCAB_SIZE", arch("vocabSize")],
  ["USE_MQA", arch("useMqa")],
  ["GPU_FLASH_DECODING", arch("gpuFlashDecoding")],
  ["RMS_NORM_EPSILON", field(["architecture", "normEps"], "float", isLlama)],
  ["SPM_MODEL", tokenizer("path", ["sentencepiece"])],
  ["VOCABULARY_PATH", tokenizer("path", ["llama3_tiktoken"])],
  ["SOS_ID", tokenizer("sosId", ["sentencepiece", "llama3_tiktoken", "bytes"])],
  ["EOS_ID", tokenizer("eosId", ["sentencepiece", "llama3_tiktoken", "bytes"])],
]);
