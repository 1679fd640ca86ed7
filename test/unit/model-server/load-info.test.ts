import { describe, expect, it } from "vitest";
import { loadInfoMessage, loadSummary } from "../../../src/model-server/load-info.js";

const INFO = {
  parameters: 3_280_640,
  weightsSeconds: 0.512,
  compileSeconds: 12.34,
  checkpointBytes: 13_122_560,
};

describe("load info", () => {
  it("logs one line with the load time and what the worker measured", () => {
    expect(loadSummary("/sax/test/tiny", 14.56, INFO)).toBe(
      "/sax/test/tiny: loaded in 14.6 s (weights 0.51 s, compile 12.3 s, 3,280,640 parameters, 12.5 MiB read)",
    );
  });

  it("logs only the load time for a servable that records nothing", () => {
    expect(loadSummary("/sax/test/echo", 0.3)).toBe("/sax/test/echo: loaded in 0.30 s");
  });

  it("fills GetStatus's LoadInfo with whole numbers for the int64 fields and zeros for what is missing", () => {
    expect(loadInfoMessage(2.5, { parameters: 10.4, checkpointBytes: 7.6 })).toEqual({
      loadSeconds: 2.5,
      weightsSeconds: 0,
      compileSeconds: 0,
      checkpointBytes: 8,
      parameters: 10,
    });
  });
});
