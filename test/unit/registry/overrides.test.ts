import { describe, expect, it } from "vitest";
import { lmConfig, resolveLmCloud } from "./registry-fixtures.js";

/** Asserts that `act` throws INVALID_ARGUMENT with a message matching `message`. */
function expectInvalid(act: () => unknown, message: RegExp): void {
  expect(act).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  expect(act).toThrow(message);
}

describe("overrides (§1.5)", () => {
  it("applies BATCH_SIZE=4 onto an int batch size", () => {
    expect(lmConfig("LmCloudSpmd2BTest", { BATCH_SIZE: "4" }).serving.batchSize).toBe(4);
  });

  it("rejects TEMPERATURE=1 onto 0.0 (int vs float) and accepts 1.0", () => {
    expectInvalid(
      () => resolveLmCloud("LmCloudSpmd2BTest", { TEMPERATURE: "1" }),
      /^mismatched type of override TEMPERATURE: original 0.0 is float, override 1 is int/,
    );
    expect(lmConfig("LmCloudSpmd2BTest", { TEMPERATURE: "1.0" }).serving.temperature).toBe(1);
  });

  it("treats a number with an exponent as a float", () => {
    expectInvalid(() => resolveLmCloud("LmCloudSpmd2BTest", { TOP_K: "1e1" }), /TOP_K.*is float/);
  });

  it("rejects BATCH_SIZE=[1,4] onto 1 and BATCH_SIZE=true onto 1", () => {
    expectInvalid(() => resolveLmCloud("LmCloudSpmd2BTest", { BATCH_SIZE: "[1,4]" }), /is list/);
    expectInvalid(() => resolveLmCloud("LmCloudSpmd2BTest", { BATCH_SIZE: "true" }), /is bool/);
  });

  it("accepts BATCH_SIZE=[1,4] onto a list batch size", () => {
    expect(lmConfig("LLaMA7BFP16TPUv5e", { BATCH_SIZE: "[1,4]" }).serving.batchSize).toEqual([1, 4]);
  });

  it("ignores invalid JSON such as NAME-like bare words, with a warning", () => {
    const resolved = resolveLmCloud("LmCloudSpmd2BTest", { BATCH_SIZE: "four" });
    expect(resolved.config.serving.batchSize).toBe(1);
    expect(resolved.warnings).toEqual(['ignoring override BATCH_SIZE: "four" is not valid JSON']);
  });

  it("ignores NAME=abc and unknown keys with a warning each", () => {
    const { warnings } = resolveLmCloud("LmCloudSpmd2BTest", { NAME: "abc", NO_SUCH_KEY: "1" });
    expect(warnings).toEqual([
      expect.stringMatching(/^ignoring override NAME: .*LmCloudSpmd2BTest has no such attribute$/),
      expect.stringMatching(/^ignoring override NO_SUCH_KEY: /),
    ]);
  });

  it("ignores the assigner's ram and constraints keys silently", () => {
    const { warnings } = resolveLmCloud("LmCloudSpmd2BTest", { ram: "1", ram4: "2", constraints: '"a"' });
    expect(warnings).toEqual([]);
  });

  it("accepts any value onto a None attribute, e.g. BATCH_WAIT_SECS=0.5 and BUCKET_KEYS=[8,16]", () => {
    const config = lmConfig("LmCloudSpmd2BTest", { BATCH_WAIT_SECS: "0.5", BUCKET_KEYS: "[8,16]" });
    expect(config.serving).toMatchObject({ batchWaitSecs: 0.5, bucketKeys: [8, 16] });
  });

  it("accepts null onto a set attribute", () => {
    expect(lmConfig("LLaMA7B", { BUCKET_KEYS: "null" }).serving.bucketKeys).toBeNull();
  });

  it("passes a dict onto a dict regardless of contents", () => {
    const config = lmConfig("LmCloudSpmd2BTest", {
      EXTRA_INPUTS: '{"temperature": 0.3, "per_example_top_k": 5}',
    });
    expect(config.serving.extraInputs).toEqual({ temperature: 0.3, per_example_top_k: 5 });
  });

  it("rejects any non-null test_mode, a property in lm_cloud, and lets null turn test mode off", () => {
    expectInvalid(() => resolveLmCloud("LmCloudSpmd2BTest", { test_mode: "true" }), /property/);
    expect(lmConfig("LmCloudSpmd2BTest", { test_mode: "null" }).testMode).toBe(false);
  });

  it("maps architecture and tokenizer attributes, and warns where the servable lacks them", () => {
    expect(lmConfig("LLaMA7B", { NUM_LAYERS: "2", SOS_ID: "5" })).toMatchObject({
      architecture: { numLayers: 2 },
      tokenizer: { sosId: 5 },
    });
    expect(resolveLmCloud("LmCloudSpmd2BTest", { NUM_KV_HEADS: "2" }).warnings).toHaveLength(1);
    expect(resolveLmCloud("LLaMA3_8BFP16x1", { SPM_MODEL: '"x.model"' }).warnings).toHaveLength(1);
  });

  it("re-validates the result and names the field that broke", () => {
    expectInvalid(
      () => resolveLmCloud("LLaMA7B", { INPUT_SEQ_LEN: "1000" }),
      /serving\.bucketKeys: bucket keys 1024, 4096 exceed inputSeqLen 1000/,
    );
    expectInvalid(() => resolveLmCloud("LLaMA7B", { BATCH_SIZE: "null" }), /serving\.batchSize/);
  });

  it("never changes the registered config", () => {
    resolveLmCloud("LmCloudSpmd2BTest", { BATCH_SIZE: "8", EXTRA_INPUTS: "{}" });
    expect(lmConfig("LmCloudSpmd2BTest").serving).toMatchObject({
      batchSize: 1,
      extraInputs: { temperature: 0.1 },
    });
  });
});
