import { describe, expect, it } from "vitest";
import { encodeExtraInputs } from "../../../src/client/extra-inputs.js";
import { ExtraInputs } from "../../../src/gen/sax/common.js";

describe("encodeExtraInputs", () => {
  it("encodes items, tensors and strings into the ExtraInputs message", () => {
    const message = encodeExtraInputs({
      items: { temperature: 0.5 },
      tensors: { bias: [1, 2.5] },
      strings: { mode: "fast" },
    });
    expect(ExtraInputs.decode(ExtraInputs.encode(message).finish())).toEqual({
      items: { temperature: 0.5 },
      tensors: { bias: { values: [1, 2.5] } },
      strings: { mode: "fast" },
    });
  });

  it("sends an empty message when there are no extra inputs", () => {
    expect(encodeExtraInputs(undefined)).toEqual({ items: {}, tensors: {}, strings: {} });
    expect(encodeExtraInputs({ items: {} })).toEqual({ items: {}, tensors: {}, strings: {} });
  });

  it("rejects values of the wrong type with INVALID_ARGUMENT naming the entry", () => {
    const bad = (extra: unknown) => () => encodeExtraInputs(extra as never);
    expect(bad({ items: { t: "0.5" } })).toThrow(/extra input items\["t"\] must be a number, got "0.5"/);
    expect(bad({ tensors: { v: [1, "x"] } })).toThrow(/tensors\["v"\] must be an array of numbers/);
    expect(bad({ strings: { s: 3 } })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });
});
