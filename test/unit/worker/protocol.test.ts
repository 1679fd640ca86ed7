import { encode } from "@msgpack/msgpack";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SaxError } from "../../../src/common/errors.js";
import {
  PROTOCOL_VERSION,
  decodeMessage,
  decodeWorkerMessage,
  encodeMessage,
  majorVersion,
  type WireMessage,
} from "../../../src/worker/protocol.js";
import { float32Tensor, tensorToNumbers } from "../../../src/worker/tensor.js";

interface GoldenCase {
  name: string;
  exact: boolean;
  message: unknown;
  hex: string;
}

const golden = JSON.parse(
  readFileSync(new URL("../../fixtures/worker-protocol/golden.json", import.meta.url), "utf8"),
) as { protocol: string; cases: GoldenCase[] };

/** JSON to wire values: `{"$bin": hex}` becomes bytes (the same convention as tests/worker_golden.py). */
function fromJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromJson);
  if (value === null || typeof value !== "object") return value;
  const entries = Object.entries(value);
  const [first] = entries;
  if (entries.length === 1 && first?.[0] === "$bin") return bytesOf(first[1] as string);
  return Object.fromEntries(entries.map(([k, v]) => [k, fromJson(v)]));
}

const bytesOf = (hex: string) => new Uint8Array(Buffer.from(hex, "hex"));
const hexOf = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const cases = golden.cases.map((c) => ({ ...c, message: fromJson(c.message) as WireMessage }));

describe("worker protocol golden frames", () => {
  it("are for the protocol version this side speaks", () => {
    expect(golden.protocol).toBe(PROTOCOL_VERSION);
  });

  it.each(cases)("decodes $name to its message", ({ hex, message }) => {
    expect(decodeMessage(bytesOf(hex))).toEqual(message);
  });

  it.each(cases)("round-trips $name through its own encoder", ({ message }) => {
    expect(decodeMessage(encodeMessage(message))).toEqual(message);
  });

  it.each(cases.filter((c) => c.exact))("encodes $name byte for byte as Python does", ({ hex, message }) => {
    expect(hexOf(encodeMessage(message))).toBe(hex);
  });
});

describe("encodeMessage", () => {
  it("puts type first and fields in protocol order, whatever the object's key order", () => {
    const frame = encodeMessage({ request: {}, method: "m", id: 1, type: "call" });
    expect(frame).toEqual(encode({ type: "call", id: 1, method: "m", request: {} }));
  });

  it("leaves out an unset deadline", () => {
    const frame = encodeMessage({ type: "call", id: 1, method: "m", request: {}, deadline_ms: undefined });
    expect(Object.keys(decodeMessage(frame))).toEqual(["type", "id", "method", "request"]);
  });
});

describe("decodeWorkerMessage", () => {
  const decodeRaw = (value: unknown) => () => decodeWorkerMessage(encode(value));

  it("rejects a message the supervisor sends", () => {
    expect(decodeRaw({ type: "shutdown" })).toThrow(/malformed worker message: type: /);
  });

  it("rejects missing and mistyped fields with their path", () => {
    expect(decodeRaw({ type: "result", id: 1 })).toThrow(/malformed worker message: body: /);
    expect(decodeRaw({ type: "end", id: -1 })).toThrow(/malformed worker message: id: /);
  });

  it("rejects bytes that are not msgpack as INTERNAL", () => {
    const decoding = () => decodeWorkerMessage(new Uint8Array([0xc1]));
    expect(decoding).toThrow(SaxError);
    expect(decoding).toThrow(/^undecodable worker message \(1 bytes\)/);
  });

  it("reads an error code it does not know as UNKNOWN", () => {
    const message = decodeWorkerMessage(encode({ type: "error", id: 1, code: "TEAPOT", message: "x" }));
    expect(message).toEqual({ type: "error", id: 1, code: "UNKNOWN", message: "x" });
  });

  it("drops fields from a newer minor version", () => {
    expect(decodeWorkerMessage(encode({ type: "end", id: 3, extra: true }))).toEqual({ type: "end", id: 3 });
  });
});

describe("majorVersion", () => {
  it("reads MAJOR of MAJOR.MINOR and nothing else", () => {
    expect(majorVersion("1.0")).toBe(1);
    expect(majorVersion("12.3")).toBe(12);
    expect(majorVersion("1")).toBeUndefined();
    expect(majorVersion("v1.0")).toBeUndefined();
  });
});

describe("tensors", () => {
  it("carry float32 values exactly as little-endian bytes", () => {
    const tensor = float32Tensor(new Float32Array([1, 2, 0.75, -1]), [2, 2]);
    expect(hexOf(tensor.data)).toBe("0000803f000000400000403f000080bf");
    const decoded = decodeMessage(encodeMessage({ type: "result", id: 1, body: { t: tensor } }));
    expect(decoded.type === "result" && tensorToNumbers(decoded.body.t)).toEqual([1, 2, 0.75, -1]);
  });

  it("refuse data whose length does not fit the shape", () => {
    const bad = { dtype: "float32", shape: [3], data: new Uint8Array(8) };
    expect(() => tensorToNumbers(bad)).toThrow(/not a tensor: .*data length does not match/);
  });
});
