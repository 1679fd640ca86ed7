import { describe, expect, it } from "vitest";
import { isBaselineReport, parseBaselineOutput, perTokenTime } from "../../../bench/baselines.js";

const REPORT = { mode: "jax", tokens_per_s: 400, requests: 10, tokens: 320, elapsed_s: 0.8 };

describe("parseBaselineOutput", () => {
  it("reads a pretty-printed JSON object after log lines and keeps extra fields", () => {
    const stdout = `loading…\n${JSON.stringify({ ...REPORT, per_token_ms: 2.5 }, null, 1)}\n`;
    const result = parseBaselineOutput(stdout);
    expect(result).toEqual({ ...REPORT, per_token_ms: 2.5 });
    expect(isBaselineReport(result)).toBe(true);
  });

  it("says which fields are wrong", () => {
    expect(parseBaselineOutput(JSON.stringify({ ...REPORT, tokens_per_s: "fast" }))).toEqual({
      error: expect.stringContaining("tokens_per_s") as unknown,
    });
  });

  it("reports output that holds no JSON object", () => {
    const result = parseBaselineOutput("Traceback: oops");
    expect(isBaselineReport(result)).toBe(false);
    expect(result).toEqual({ error: 'baseline printed no JSON object: "Traceback: oops"' });
  });
});

describe("perTokenTime", () => {
  it("prefers a decode-only figure, in a number or a summary object", () => {
    expect(perTokenTime({ ...REPORT, decode_ms_per_token: { median: 1.2 }, per_token_ms: 2.5 })).toEqual({
      ms: 1.2,
      basis: "decode_ms_per_token.median",
    });
    expect(perTokenTime({ ...REPORT, per_token_ms: 2.5 })).toEqual({ ms: 2.5, basis: "per_token_ms" });
  });

  it("falls back to the inverse of the throughput", () => {
    expect(perTokenTime(REPORT)).toEqual({ ms: 2.5, basis: "1000 / tokens_per_s" });
  });
});
