import { describe, expect, it } from "vitest";
import { z } from "zod";
import { lmMethodsOf, servableConfigSchema, servingConfigSchema } from "../../../src/registry/index.js";
import { registry, resolveLmCloud } from "./registry-fixtures.js";

const CODE_WORDS = new Set([
  "module",
  "class",
  "import",
  "callable",
  "code",
  "factory",
  "function",
  "script",
]);

/** Every property name declared anywhere in a JSON schema. */
function fieldNames(schema: unknown): string[] {
  if (typeof schema !== "object" || schema === null) return [];
  const own = "properties" in schema && schema.properties ? Object.keys(schema.properties) : [];
  return [...own, ...Object.values(schema).flatMap(fieldNames)];
}

const methods = (serving: z.input<typeof servingConfigSchema>) =>
  lmMethodsOf(servingConfigSchema.parse(serving));

describe("lmMethodsOf", () => {
  it("gives a GENERATE_ONLY LLaMA no lm.score", () => {
    expect(resolveLmCloud("LLaMA7BFP16").methods).toEqual(["lm.generate"]);
    expect(resolveLmCloud("LLaMA7B").methods).toEqual(["lm.generate", "lm.generate_stream"]);
  });

  it("gives LmCloudSpmd2B lm.score and lm.generate, without streaming", () => {
    expect(resolveLmCloud("LmCloudSpmd2B").methods).toEqual(["lm.score", "lm.generate"]);
  });

  it("streams only with ENABLE_GENERATE_STREAM, and serves only the stream when generate is disabled", () => {
    expect(resolveLmCloud("LmCloudSpmd2B", { ENABLE_GENERATE_STREAM: "true" }).methods).toContain(
      "lm.generate_stream",
    );
    expect(resolveLmCloud("LLaMA70BInt8TokenizedInputTPUv5e8Stream").methods).toEqual(["lm.generate_stream"]);
  });

  it("drops generate and stream for SCORE_ONLY, and the stream for beam search", () => {
    expect(methods({ scoreOnly: true, enableGenerateStream: true })).toEqual(["lm.score"]);
    expect(methods({ useBeamSearch: true, enableGenerateStream: true })).toEqual(["lm.score", "lm.generate"]);
  });

  it("keeps lm.score off for a class whose score() returns None, even without GENERATE_ONLY", () => {
    const resolved = resolveLmCloud("LLaMA7BContinuousBatchingTPUv5e4", { GENERATE_ONLY: "false" });
    expect(resolved.methods).toEqual(["lm.generate"]);
  });

  it("serves lm.embed only when both embedding names are set and not GENERATE_ONLY", () => {
    expect(methods({ embed: { modelMethodName: "embed" } })).not.toContain("lm.embed");
    expect(methods({ embed: { modelMethodName: "embed", outputEmbeddingName: "e" } })).toContain("lm.embed");
    expect(
      methods({ generateOnly: true, embed: { modelMethodName: "embed", outputEmbeddingName: "e" } }),
    ).toEqual(["lm.generate"]);
  });

  it("serves lm.gradient only when enabled", () => {
    expect(methods({})).not.toContain("lm.gradient");
    expect(methods({ enableGradient: true })).toContain("lm.gradient");
  });
});

describe("sax-ts servables", () => {
  it("serves TinyLlama greedily on one device with every LM method", () => {
    const { config, methods } = registry.resolve("saxts.lm.TinyLlama");
    expect(methods).toEqual(["lm.score", "lm.generate", "lm.generate_stream", "lm.embed", "lm.gradient"]);
    expect(config).toMatchObject({
      testMode: false,
      randomWeightsWhenNoCheckpoint: true,
      meshShapes: [[1, 1, 1]],
    });
    expect(config.serving).toMatchObject({ inputSeqLen: 128, maxDecodeSteps: 32, numSamples: 1, topK: 1 });
  });

  it("keeps TinyLlama to a few million float32 parameters over the byte tokenizer", () => {
    const { config } = registry.resolve("saxts.lm.TinyLlama");
    if (config.kind !== "lm" || config.architecture.family !== "llama") throw new Error("not a LLaMA");
    const {
      numLayers: l,
      modelDims: d,
      hiddenDims: f,
      numHeads: n,
      numKvHeads: k,
      dimsPerHead: h,
    } = config.architecture;
    const params = 2 * 259 * d + l * (d * h * (2 * n + 2 * k) + 3 * d * f);
    expect(params).toBeGreaterThan(1e6);
    expect(params).toBeLessThan(1e7);
    expect(config.tokenizer).toEqual({ type: "bytes", sosId: 256, eosId: 257, padId: 258 });
  });

  it("serves TinyLlamaTorch as TinyLlama's model built by torch, one request at a time", () => {
    const jax = registry.resolve("saxts.lm.TinyLlama");
    const torch = registry.resolve("saxts.lm.TinyLlamaTorch");
    expect(torch.methods).toEqual(jax.methods);
    expect(torch.config).toMatchObject({ framework: "torch", serving: { numCacheSlots: 0 } });
    expect(jax.config).toMatchObject({ framework: "jax" });
    if (torch.config.kind !== "lm" || jax.config.kind !== "lm") throw new Error("not LMs");
    expect(torch.config.architecture).toEqual(jax.config.architecture);
    expect(torch.config.tokenizer).toEqual(jax.config.tokenizer);
  });

  it("rejects continuous batching for a torch class, naming the field", () => {
    expect(() => registry.resolve("saxts.lm.TinyLlamaTorch", { NUM_CACHE_SLOTS: "8" })).toThrow(
      /serving\.numCacheSlots: the torch backend decodes one request at a time/,
    );
  });

  it("rejects the torch framework for a family it does not build", () => {
    const lmCloud = { ...resolveLmCloud("LmCloudSpmd2BTest").config, framework: "torch" };
    const result = servableConfigSchema.safeParse(lmCloud);
    expect(result.error?.issues.map((issue) => [issue.path.join("."), issue.message])).toEqual([
      ["framework", "the torch backend builds the llama family only, not lm_cloud"],
    ]);
  });

  it("serves Echo's four methods without a framework", () => {
    const { config, methods } = registry.resolve("saxts.test.Echo");
    expect(config.kind).toBe("echo");
    expect(methods).toEqual(["lm.score", "lm.generate", "lm.generate_stream", "lm.embed"]);
  });
});

describe("servableConfigSchema", () => {
  it("rejects a field that would name code to import", () => {
    const echo = { kind: "echo", pythonClass: "os.system" };
    expect(servableConfigSchema.safeParse(echo).success).toBe(false);
  });

  it("has no field anywhere that names a module, class or callable", () => {
    const words = fieldNames(z.toJSONSchema(servableConfigSchema, { io: "input" })).flatMap((name) =>
      name.split(/(?=[A-Z])|_/).map((word) => word.toLowerCase()),
    );
    expect(words).toEqual(expect.arrayContaining(["batch", "path", "family"]));
    expect(words.filter((word) => CODE_WORDS.has(word))).toEqual([]);
  });

  it("rejects a combined-QKV LLaMA whose kv heads differ from its heads, naming the field", () => {
    expect(() => resolveLmCloud("LLaMA7B", { NUM_KV_HEADS: "8" })).toThrow(/architecture\.numKvHeads/);
  });

  it("rejects EOS padding without tokenized input", () => {
    expect(() => resolveLmCloud("LLaMA7B", { EOS_PADDING_AND_NO_SOS: "true" })).toThrow(
      /serving\.eosPaddingAndNoSos: requires tokenizedInput/,
    );
  });

  it("rejects a byte-tokenizer model whose vocabulary cannot hold the specials", () => {
    expect(() => registry.resolve("saxts.lm.TinyLlama", { VOCAB_SIZE: "256" })).toThrow(
      /architecture\.vocabSize/,
    );
  });
});
