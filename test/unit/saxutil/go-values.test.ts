import { describe, expect, it } from "vitest";
import {
  formatGoDuration,
  parseGoDuration,
  parseGoFloat32,
  parseGoInt,
} from "../../../src/saxutil/go-values.js";

describe("Go durations", () => {
  it.each([
    ["60s", 60_000],
    ["1m30s", 90_000],
    ["1.5h", 5_400_000],
    ["300ms", 300],
    ["0", 0],
    ["-2s", -2000],
    ["1us", 0.001],
  ])("parses %s", (text, ms) => {
    expect(parseGoDuration(text)).toBeCloseTo(ms, 9);
  });

  it.each(["", "5", "abc", "1x", ".s", "1.2.3s"])("rejects %j with a parse error", (text) => {
    expect(() => parseGoDuration(text)).toThrow("parse error");
  });

  it.each([
    [60_000, "1m0s"],
    [600_000, "10m0s"],
    [1500, "1.5s"],
    [3_600_000, "1h0m0s"],
    [300, "300ms"],
    [0, "0s"],
  ])("formats %d ms as %s", (ms, text) => {
    expect(formatGoDuration(ms)).toBe(text);
  });
});

describe("Go integers", () => {
  it.each([
    ["3", 3],
    ["+2", 2],
    ["-1", -1],
    ["0x10", 16],
    ["0o17", 15],
    ["017", 15],
    ["0b101", 5],
    ["1_000", 1000],
  ])("parses %s like a Go int flag", (text, value) => {
    expect(parseGoInt(text)).toBe(value);
  });

  it.each(["1.0", "x", "", "08", "1_", "_1", "0x"])("rejects %j", (text) => {
    expect(() => parseGoInt(text)).toThrow("parse error");
  });

  it("parses only signed decimals like strconv.Atoi when asked to", () => {
    expect(parseGoInt("+2", true)).toBe(2);
    expect(() => parseGoInt("0x10", true)).toThrow("parse error");
    expect(() => parseGoInt("1_000", true)).toThrow("parse error");
  });

  it("reports integers beyond int64 as out of range", () => {
    expect(() => parseGoInt("9223372036854775808")).toThrow("value out of range");
  });
});

describe("Go float32 literals", () => {
  it.each([
    ["0.5", 0.5],
    ["1e-3", Math.fround(1e-3)],
    [".5", 0.5],
    ["5.", 5],
    ["+2", 2],
    ["1_000", 1000],
    ["0x1p-2", 0.25],
    ["0x1.8p1", 3],
    ["inf", Infinity],
    ["-Infinity", -Infinity],
    ["0.1", Math.fround(0.1)],
  ])("parses %s", (text, value) => {
    expect(parseGoFloat32(text)).toBe(value);
  });

  it("parses nan in any case", () => {
    expect(parseGoFloat32("NaN")).toBeNaN();
  });

  it.each(["abc", "", "1e", "0x10", "1__0", "+nan", "infinit", "'1'", "1e40"])("rejects %j", (text) => {
    expect(() => parseGoFloat32(text)).toThrow();
  });
});
