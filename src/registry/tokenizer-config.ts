/**
 * Tokenizers a worker can build. Paths are data (a local file, a `gs://` URL, or `bundled:<file>` for a
 * file shipped with the Python runtime); nothing here selects code by name, unlike Saxml's free-form
 * VOCABULARY_CLASS lookup, which the closed `type` set replaces.
 */
import { z } from "zod";

const tokenId = z.number().int().nonnegative();
const tokenizerPath = z
  .string()
  .min(1)
  .describe("tokenizer file: a local path, gs://bucket/object, or bundled:<file> shipped with the worker");

/** The byte-level tokenizer's ids: bytes are ids 0…255, then the specials. */
export const BYTE_TOKENIZER = { sosId: 256, eosId: 257, padId: 258, vocabSize: 259 } as const;

/**
 * sax-ts's own 1000-piece SentencePiece test vocabulary (SOS 0, EOS 1, UNK 2, byte fallback), shipped with
 * the worker and trained by python-runtime/scripts/train-test-tokenizer. It stands in for the small test
 * vocabulary Saxml's LmCloud classes use: same size and special ids, different pieces.
 */
export const BUNDLED_TEST_SPM_MODEL = "bundled:sax_test_1000.model";

/**
 * The 32000-piece BPE vocabulary of the peer benchmark's model (UNK 0, SOS 1, EOS 2, byte fallback, as
 * LLaMA's), trained on the Python standard library's sources by
 * `python-runtime/scripts/train-test-tokenizer --vocabulary bench`.
 */
export const BUNDLED_BENCH_SPM_MODEL = "bundled:bench_32k.model";

/** SentencePiece (SPM_MODEL, SOS_ID, EOS_ID). */
export const sentencePieceTokenizerSchema = z.strictObject({
  type: z.literal("sentencepiece"),
  path: tokenizerPath,
  sosId: tokenId.default(0).describe("start-of-sequence id (SOS_ID)"),
  eosId: tokenId.default(1).describe("end-of-sequence id, the default stop id (EOS_ID)"),
});

/**
 * LLaMA-3 tiktoken (Saxml's `LLama3Vocabulary`): 256 reserved specials follow the base vocabulary
 * (begin_of_text = base+0, end_of_text = base+1, eot_id = base+9).
 */
export const llama3TiktokenTokenizerSchema = z.strictObject({
  type: z.literal("llama3_tiktoken"),
  path: tokenizerPath,
  sosId: tokenId.default(128000).describe("<|begin_of_text|> (SOS_ID)"),
  eosId: tokenId.default(128001).describe("<|end_of_text|> (EOS_ID)"),
});

/** sax-ts's byte-level tokenizer for small models: UTF-8 bytes are ids 0…255; specials follow. */
export const bytesTokenizerSchema = z.strictObject({
  type: z.literal("bytes"),
  sosId: z.literal(BYTE_TOKENIZER.sosId).default(BYTE_TOKENIZER.sosId).describe("start-of-sequence id"),
  eosId: z.literal(BYTE_TOKENIZER.eosId).default(BYTE_TOKENIZER.eosId).describe("end-of-sequence id"),
  padId: z.literal(BYTE_TOKENIZER.padId).default(BYTE_TOKENIZER.padId).describe("padding id"),
});

/** Every tokenizer, told apart by `kind`. */
export const tokenizerSchema = z.discriminatedUnion("type", [
  sentencePieceTokenizerSchema,
  llama3TiktokenTokenizerSchema,
  bytesTokenizerSchema,
]);

/** A tokenizer. */
export type Tokenizer = z.infer<typeof tokenizerSchema>;
