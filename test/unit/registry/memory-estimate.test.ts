import { describe, expect, it } from "vitest";
import { ServableRegistry } from "../../../src/registry/index.js";

const registry = new ServableRegistry();

describe("memory estimates", () => {
  it("counts TinyLlama's 3.28M fp32 parameters plus headroom", () => {
    const bytes = registry.estimatedBytes("saxts.lm.TinyLlama");
    expect(bytes).toBeGreaterThan(3_280_640 * 4);
    expect(bytes).toBeLessThan(3_280_640 * 4 * 1.3);
  });

  it("puts LLaMA 7B in bf16 at about 13.5 GB of weights", () => {
    const bytes = registry.estimatedBytes("saxml.server.pax.lm.params.lm_cloud.LLaMA7BFP16") ?? 0;
    expect(bytes / 1.2).toBeGreaterThan(13.2e9);
    expect(bytes / 1.2).toBeLessThan(13.8e9);
  });

  it("follows architecture overrides", () => {
    const small = registry.estimatedBytes("saxts.lm.TinyLlama", { NUM_LAYERS: "1" }) ?? 0;
    expect(small).toBeLessThan((registry.estimatedBytes("saxts.lm.TinyLlama") ?? 0) / 2);
  });

  it("knows nothing of paths outside the registry or overrides that do not resolve", () => {
    expect(registry.estimatedBytes("com.example.Model")).toBeUndefined();
    expect(registry.estimatedBytes("saxts.lm.TinyLlama", { TOP_K: "1.5" })).toBeUndefined();
  });
});
