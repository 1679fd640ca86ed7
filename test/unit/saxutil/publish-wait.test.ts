import { describe, expect, it } from "vitest";
import { changeLines, statusLine, type WaitState } from "../../../src/saxutil/publish-wait.js";

const state = (over: Partial<WaitState>): WaitState => ({
  modelId: "/sax/test/lm",
  wanted: 2,
  ready: 0,
  assigned: [],
  elapsedMs: 1234,
  ...over,
});

describe("publish -wait progress", () => {
  it("draws one status line for terminals", () => {
    expect(statusLine(state({}))).toBe("/sax/test/lm: 0/2 replicas ready, waiting for a model server (1.2s)");
    expect(statusLine(state({ ready: 1, assigned: ["a:1", "b:2"] }))).toBe(
      "/sax/test/lm: 1/2 replicas ready, assigned to a:1, b:2 (1.2s)",
    );
  });

  it("writes plain lines only for what changed", () => {
    expect(changeLines(undefined, state({}))).toEqual(["waiting for 2 replica(s) of /sax/test/lm to load"]);
    const assigned = state({ assigned: ["a:1"] });
    expect(changeLines(state({}), assigned)).toEqual(["/sax/test/lm: assigned to a:1"]);
    expect(changeLines(assigned, assigned)).toEqual([]);
    expect(changeLines(assigned, state({ assigned: ["a:1"], ready: 1, elapsedMs: 9000 }))).toEqual([
      "/sax/test/lm: 1/2 replicas ready after 9.0s",
    ]);
  });
});
