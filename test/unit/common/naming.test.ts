import { describe, expect, it } from "vitest";
import {
  parseCellId,
  parseCellOrModel,
  parseModelId,
  parseModelIdInCell,
} from "../../../src/common/naming.js";

const invalid = (fn: () => unknown) =>
  expect(fn).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));

describe("naming", () => {
  it.each(["foo", "pi_3-14", "llama-7b", "lm2b", "a"])("accepts the cell name %s", (name) => {
    expect(parseCellId(`/sax/${name}`).name).toBe(name);
  });

  it.each(["_foo", "42", "foo$", "Foo", "", "a.b"])("rejects the cell name %j", (name) => {
    invalid(() => parseCellId(`/sax/${name}`));
  });

  it.each(["/Sax/foo", "/sax/foo/", "sax/foo", "/sax/foo/bar", "/sax", ""])(
    "rejects the cell id %j",
    (id) => {
      invalid(() => parseCellId(id));
    },
  );

  it("splits a model id into cell and model names", () => {
    const id = parseModelId("/sax/test/llama-7b");
    expect([id.cell.full, id.cell.name, id.name]).toEqual(["/sax/test", "test", "llama-7b"]);
  });

  it.each([
    "/sax/test/Foo",
    "/sax/test/_x",
    "/sax/test/42",
    "/sax/test/a.b",
    "/sax/test/",
    "/sax/test/a/b",
    "sax/test/a",
    "/Sax/test/a",
    "lm",
  ])("rejects the model id %j", (id) => invalid(() => parseModelId(id)));

  it("names the model name rule when the model part is bad", () => {
    expect(() => parseModelId("/sax/test/Foo")).toThrow(/model name "Foo" must match/);
  });

  it("rejects a model of another cell", () => {
    expect(() => parseModelIdInCell("/sax/other/m", parseCellId("/sax/test"))).toThrow(
      /must be within SAX cell "\/sax\/test"/,
    );
  });

  it("tells a cell from a model id", () => {
    expect(parseCellOrModel("/sax/test").kind).toBe("cell");
    expect(parseCellOrModel("/sax/test/m").kind).toBe("model");
    invalid(() => parseCellOrModel("/sax/Test/m"));
  });
});
