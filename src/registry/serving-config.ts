/**
 * The serving knobs of a servable: Saxml's LM serving template (`CommonServingTemplate` +
 * `ServingTemplate`), one field per template attribute that changes what a worker does. Schema defaults
 * are the template's own defaults, so a catalogue entry states only what its params class overrides.
 */
import { z } from "zod";

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();

/** An int, or a non-empty list of ints (Saxml attributes typed `int | list[int]`). */
const intOrList = z.union([positiveInt, z.array(positiveInt).min(1)]);

/** numpy dtype names an extra input may be materialised as (§3.10). */
export const EXTRA_INPUT_DTYPES = ["float32", "float64", "bfloat16", "int32", "int64", "bool"] as const;

/** dtype of one extra input. */
export type ExtraInputDtype = (typeof EXTRA_INPUT_DTYPES)[number];

/**
 * Declared extra inputs and their defaults: a number (scalar item), null (becomes NaN in float32, e.g.
 * a disabled top-p) or a list (a tensor extra input of that length).
 */
export const extraInputsSchema = z.record(
  z.string().min(1),
  z.union([z.number(), z.null(), z.array(z.number())]),
);

/** Declared extra inputs with their defaults. */
export type ExtraInputs = z.infer<typeof extraInputsSchema>;

/** lm.embed settings (Saxml's TEXT_TO_EMBEDDING_* attributes). */
export const embedConfigSchema = z.strictObject({
  batchSize: positiveInt.default(1).describe("lm.embed batch size (TEXT_TO_EMBEDDING_SERVING_BATCH_SIZE)"),
  maxLiveBatches: positiveInt
    .default(1)
    .describe("lm.embed admission factor (TEXT_TO_EMBEDDING_MAX_LIVE_BATCHES)"),
  modelMethodName: z
    .string()
    .min(1)
    .nullable()
    .default(null)
    .describe(
      "model method computing the embedding (TEXT_TO_EMBEDDING_MODEL_METHOD_NAME); sax-ts workers know `embed`",
    ),
  outputEmbeddingName: z
    .string()
    .min(1)
    .nullable()
    .default(null)
    .describe("name of the output holding the embedding (TEXT_TO_EMBEDDING_OUTPUT_EMBEDDING_NAME)"),
});

/** lm.embed settings. */
export type EmbedConfig = z.infer<typeof embedConfigSchema>;

/** Serving knobs; see data-plane spec §1.4 for the semantics of each. */
export const servingConfigSchema = z.strictObject({
  batchSize: intOrList.default(1).describe("batch size, or the allowed batch sizes (BATCH_SIZE)"),
  maxLiveBatches: positiveInt.default(4).describe("admission limit factor (MAX_LIVE_BATCHES)"),
  batchWaitSecs: z
    .number()
    .nonnegative()
    .nullable()
    .default(null)
    .describe("batching window in seconds; null processes a lone request at once (BATCH_WAIT_SECS)"),
  inputSeqLen: positiveInt.default(256).describe("max prompt tokens including SOS (INPUT_SEQ_LEN)"),
  suffixSeqLen: nonNegativeInt
    .default(0)
    .describe("lm.score suffix budget; 0 ⇒ inputSeqLen (SUFFIX_SEQ_LEN)"),
  bucketKeys: z
    .array(positiveInt)
    .min(1)
    .nullable()
    .default(null)
    .describe("allowed padded prompt lengths, each ≤ inputSeqLen (BUCKET_KEYS)"),
  maxDecodeSteps: intOrList
    .default(32)
    .describe("decode step cap; a list grows the KV cache in segments (MAX_DECODE_STEPS)"),
  minDecodeSteps: nonNegativeInt.default(0).describe("honoured by beam search only (MIN_DECODE_STEPS)"),
  maxSeqLen: positiveInt
    .nullable()
    .default(null)
    .describe("decoder length; null ⇒ inputSeqLen + max(maxDecodeSteps) (MAX_SEQ_LEN)"),
  numSamples: positiveInt.default(2).describe("samples per prompt (NUM_SAMPLES)"),
  topK: nonNegativeInt
    .default(40)
    .describe("sampler k; 0 disables top-k; NUM_SAMPLES 1 + TOP_K 1 ⇒ greedy (TOP_K)"),
  temperature: z.number().nonnegative().default(0).describe("default decoder temperature (TEMPERATURE)"),
  sortSamples: z.boolean().default(true).describe("sort samples by score, best first (SORT_SAMPLES)"),
  useBeamSearch: z.boolean().default(false).describe("decode with beam search (USE_BEAM_SEARCH)"),
  beamSize: positiveInt.default(4).describe("beam width (BEAM_SIZE)"),
  lengthNormAlpha: z.number().default(0.8).describe("beam length normalisation (LENGTH_NORM_ALPHA)"),
  generateOnly: z.boolean().default(false).describe("no lm.score and no lm.embed (GENERATE_ONLY)"),
  scoreOnly: z.boolean().default(false).describe("no lm.generate and no lm.generate_stream (SCORE_ONLY)"),
  enableGenerate: z.boolean().default(true).describe("serve lm.generate (ENABLE_GENERATE)"),
  enableGenerateStream: z
    .boolean()
    .default(false)
    .describe("serve lm.generate_stream (ENABLE_GENERATE_STREAM)"),
  enableScore: z
    .boolean()
    .default(true)
    .describe("serve lm.score unless generateOnly; false mirrors classes whose score() returns None"),
  enableGradient: z.boolean().default(false).describe("serve lm.gradient (no shipped class does)"),
  streamIntervalSteps: positiveInt.default(1).describe("tokens per streamed chunk (STREAM_INTERVAL_STEPS)"),
  includePrefixInResult: z
    .boolean()
    .default(false)
    .describe("generated text starts with the prompt (INCLUDE_PREFIX_IN_RESULT)"),
  tokenizedInput: z.boolean().default(false).describe('input text is "id,id,…" (TOKENIZED_INPUT)'),
  tokenizedOutput: z.boolean().default(false).describe('output text is "id,id,…" (TOKENIZED_OUTPUT)'),
  eosPaddingAndNoSos: z
    .boolean()
    .default(false)
    .describe("pad with EOS and drop SOS; requires tokenizedInput (EOS_PADDING_AND_NO_SOS)"),
  sliceLeft: z
    .boolean()
    .default(true)
    .describe("on truncation keep the beginning of the prompt (SLICE_LEFT)"),
  prependSos: z.boolean().default(true).describe("prepend SOS to prompts (PREPEND_SOS)"),
  failOnInputTruncation: z
    .boolean()
    .default(false)
    .describe("an over-long prompt fails its batch (FAIL_ON_INPUT_TRUNCATION)"),
  stopTokenIds: z
    .array(nonNegativeInt)
    .nullable()
    .default(null)
    .describe("stop ids; null or empty ⇒ [eosId]; must list EOS explicitly (STOP_TOKEN_IDS)"),
  extraInputs: extraInputsSchema
    .default({ temperature: 0.1 })
    .describe("extra inputs of lm.generate(_stream) with defaults (EXTRA_INPUTS)"),
  extraInputsDtypes: z
    .record(z.string().min(1), z.enum(EXTRA_INPUT_DTYPES))
    .default({})
    .describe("dtype per extra input; missing keys are float32 (EXTRA_INPUTS_DTYPES)"),
  scoreExtraInputs: extraInputsSchema
    .default({})
    .describe("extra inputs of lm.score and lm.gradient (SCORE_EXTRA_INPUTS)"),
  numCacheSlots: nonNegativeInt
    .default(0)
    .describe("> 0 ⇒ continuous batching for generate(+stream) (NUM_CACHE_SLOTS)"),
  scoringIncludeEosScore: z
    .boolean()
    .default(false)
    .describe("lm.score adds log p(EOS) (SCORING_INCLUDE_EOS_SCORE)"),
  scoringUseGeomeanProbScore: z
    .boolean()
    .default(false)
    .describe("lm.score returns exp(mean logprob) (SCORING_USE_GEOMEAN_PROB_SCORE)"),
  generationUseGeomeanProbScore: z
    .boolean()
    .default(false)
    .describe("generate scores are exp(mean logprob) (GENERATION_USE_GEOMEAN_PROB_SCORE)"),
  embed: embedConfigSchema.prefault({}).describe("lm.embed settings"),
});

/** Resolved serving knobs. */
export type ServingConfig = z.infer<typeof servingConfigSchema>;

/** Serving knobs as written in the catalogue (defaults not yet applied). */
export type ServingConfigInput = z.input<typeof servingConfigSchema>;

/** The largest decode step count (MAX_DECODE_STEPS may be a list). */
export function maxOf(value: number | readonly number[]): number {
  return typeof value === "number" ? value : Math.max(...value);
}

/** Adds an issue for every cross-field rule of `serving` that fails; paths are relative to `at`. */
export function checkServing(serving: ServingConfig, ctx: z.RefinementCtx, at: readonly string[]): void {
  const issue = (field: string, message: string) =>
    ctx.addIssue({ code: "custom", path: [...at, field], message });
  const tooLong = serving.bucketKeys?.filter((key) => key > serving.inputSeqLen) ?? [];
  if (tooLong.length > 0) {
    issue("bucketKeys", `bucket keys ${tooLong.join(", ")} exceed inputSeqLen ${serving.inputSeqLen}`);
  }
  if (serving.eosPaddingAndNoSos && !serving.tokenizedInput) {
    issue("eosPaddingAndNoSos", "requires tokenizedInput");
  }
}
