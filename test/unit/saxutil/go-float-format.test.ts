import { describe, expect, it } from "vitest";
import { formatFloat, formatFloatShortest } from "../../../src/saxutil/go-float-format.js";

describe("formatFloat (Go FormatFloat 'G', 8 digits)", () => {
  it.each([
    [0.5, "0.5"],
    [-1.23456789, "-1.2345679"],
    [123456789, "1.2345679E+08"],
    [1e-5, "1E-05"],
    [0.0001, "0.0001"],
    [100, "100"],
    [0, "0"],
  ])("prints the spec example %d as %s", (value, text) => {
    expect(formatFloat(value)).toBe(text);
  });

  it.each([
    [12345678, "12345678"],
    [1e7, "10000000"],
    [1e8, "1E+08"],
    [1234567.5, "1234567.5"],
    [-34.61144638061523, "-34.611446"],
    [0.1 + 0.2, "0.3"],
    [1e21, "1E+21"],
    [-0, "-0"],
    [5e-324, "4.9406565E-324"],
    [1.7976931348623157e308, "1.7976931E+308"],
  ])("switches to exponent form only below 1e-4 or from 1e8: %d → %s", (value, text) => {
    expect(formatFloat(value)).toBe(text);
  });

  it("rounds an exact halfway value to even, as Go does", () => {
    expect(formatFloat(123456785)).toBe("1.2345678E+08");
    expect(formatFloat(123456795)).toBe("1.234568E+08");
    expect(formatFloat(99999999.5)).toBe("1E+08");
  });

  it("prints NaN and infinities as Go does", () => {
    expect([NaN, Infinity, -Infinity].map(formatFloat)).toEqual(["NaN", "+Inf", "-Inf"]);
  });
});

describe("formatFloatShortest (Go %v)", () => {
  it.each([
    [-1.5, "-1.5"],
    [123456, "123456"],
    [1234567, "1.234567e+06"],
    [1e-5, "1e-05"],
    [0.0001, "0.0001"],
    [-104.39816951751709, "-104.39816951751709"],
    [1e21, "1e+21"],
    [0, "0"],
    [0.1 + 0.2, "0.30000000000000004"],
  ])("prints %d as %s", (value, text) => {
    expect(formatFloatShortest(value)).toBe(text);
  });
});
