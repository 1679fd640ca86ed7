import { describe, expect, it } from "vitest";
import { parseExtraInputs } from "../../../src/saxutil/extra-inputs.js";

describe("parseExtraInputs", () => {
  it("puts floats in items and quoted or other values in strings (spec example)", () => {
    expect(parseExtraInputs("temperature:0.5,mode:'greedy',tag:abc")).toEqual({
      items: { temperature: 0.5 },
      strings: { mode: "greedy", tag: "abc" },
    });
  });

  it("gives nothing for an empty value", () => {
    expect(parseExtraInputs("")).toBeUndefined();
  });

  it("stores items as float32 and reads Go float syntax", () => {
    expect(parseExtraInputs("t:0.1,a:1_000,h:0x1p-2,i:inf")?.items).toEqual({
      t: Math.fround(0.1),
      a: 1000,
      h: 0.25,
      i: Infinity,
    });
  });

  it("keeps double-quoted text, empty values and a lone quote as strings", () => {
    expect(parseExtraInputs('s:"1.5",e:,q:\',big:1e40')?.strings).toEqual({
      s: "1.5",
      e: "",
      q: "'",
      big: "1e40",
    });
  });

  it("lets a repeated key land in both maps when its types differ", () => {
    expect(parseExtraInputs("a:1,a:x")).toEqual({ items: { a: 1 }, strings: { a: "x" } });
  });

  it.each(["a:1:2", "a", "a:1,b"])("rejects %j naming the whole value", (extra) => {
    expect(() => parseExtraInputs(extra)).toThrow(`must be separated by ':', but found '${extra}'`);
    expect(() => parseExtraInputs(extra)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });
});
