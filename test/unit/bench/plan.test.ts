import { describe, expect, it } from "vitest";
import { DEFAULT_MODEL, PEERS_MODEL, PROMPTS, promptFor, resolveBenchPlan } from "../../../bench/plan.js";

describe("prompts", () => {
  it("are 16 to 24 bytes each and cycle by request number", () => {
    for (const prompt of PROMPTS) {
      expect(Buffer.byteLength(prompt)).toBeGreaterThanOrEqual(16);
      expect(Buffer.byteLength(prompt)).toBeLessThanOrEqual(24);
    }
    expect(promptFor(PROMPTS, PROMPTS.length + 2)).toBe(PROMPTS[2]);
    expect(promptFor(["a", "b", "c"], 4)).toBe("b");
  });
});

const TINY = { maxDecodeSteps: 32, streams: true, vocabSize: 259 };

describe("resolveBenchPlan", () => {
  it("runs levels 1, 8 and 32 in quick mode, 1 to 64 otherwise, at the model's decode limit", () => {
    const quick = resolveBenchPlan({ quick: true }, TINY);
    expect(quick).toMatchObject({ mode: "quick", classPath: DEFAULT_MODEL, maxNewTokens: 32, overrides: {} });
    expect(quick.levels).toEqual([1, 8, 32]);
    expect(quick.prompts).toEqual(PROMPTS.slice(0, 8));
    expect(resolveBenchPlan({}, TINY).levels).toEqual([1, 4, 16, 32, 64]);
  });

  it("lowers MAX_DECODE_STEPS when --max-new-tokens is below the model's limit", () => {
    const plan = resolveBenchPlan({ maxNewTokens: "8", model: "saxts.lm.Other" }, TINY);
    expect(plan).toMatchObject({ maxNewTokens: 8, classPath: "saxts.lm.Other" });
    expect(plan.overrides).toEqual({ MAX_DECODE_STEPS: "8" });
  });

  it("rejects --max-new-tokens outside 1 to the model's limit", () => {
    expect(() => resolveBenchPlan({ maxNewTokens: "33" }, TINY)).toThrow(
      `--max-new-tokens must be an integer from 1 to the model's 32 decode steps, got "33"`,
    );
    expect(() => resolveBenchPlan({ maxNewTokens: "2.5" }, TINY)).toThrow("--max-new-tokens");
  });

  it("keeps Saxml's list form of MAX_DECODE_STEPS and turns streaming on for a class without it", () => {
    const plan = resolveBenchPlan(
      { maxNewTokens: "4" },
      { maxDecodeSteps: [128, 512], streams: false, vocabSize: 1000 },
    );
    expect(plan.maxNewTokens).toBe(4);
    expect(plan.overrides).toEqual({ MAX_DECODE_STEPS: "[4]", ENABLE_GENERATE_STREAM: "true" });
    expect(
      resolveBenchPlan({}, { maxDecodeSteps: [128, 512], streams: true, vocabSize: 1000 }).maxNewTokens,
    ).toBe(512);
  });

  it("takes --levels as distinct ascending positive integers", () => {
    expect(resolveBenchPlan({ levels: "4, 1,4" }, TINY).levels).toEqual([1, 4]);
    expect(() => resolveBenchPlan({ levels: "1,0" }, TINY)).toThrow("--levels must be positive integers");
    expect(() => resolveBenchPlan({ levels: "" }, TINY)).toThrow("--levels");
  });

  it("runs --peers on the peers' model with EOS ignored, so every system decodes the same tokens", () => {
    const plan = resolveBenchPlan({ peers: true, quick: true }, TINY);
    expect(plan.classPath).toBe(PEERS_MODEL);
    expect(plan.overrides).toEqual({ STOP_TOKEN_IDS: "[259]" });
    expect(resolveBenchPlan({ peers: true, model: "saxts.lm.TinyLlama" }, TINY).classPath).toBe(
      "saxts.lm.TinyLlama",
    );
  });
});
