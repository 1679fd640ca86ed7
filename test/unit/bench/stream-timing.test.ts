import { describe, expect, it } from "vitest";
import { streamTiming, type TimedMessage } from "../../../bench/stream-timing.js";

const message = (atMs: number, text: string, score: number): TimedMessage => ({
  atMs,
  samples: [{ text, scores: [score] }],
});

describe("streamTiming", () => {
  it("counts a token per scored message, including one whose text the UTF-8 decoder withheld", () => {
    const timing = streamTiming(
      [message(10, "a", -1.5), message(14, "", -2), message(18, "é", -0.5), message(19, "", 0)],
      20,
    );
    expect(timing).toEqual({ ttftMs: 10, tpotMs: 4, tokens: 3, steps: 3, totalMs: 20 });
  });

  it("starts time to first token at the first scored message even when its text is empty", () => {
    const timing = streamTiming([message(7, "", -3), message(9, "xy", -1)], 9);
    expect(timing.ttftMs).toBe(7);
    expect(timing.tpotMs).toBe(2);
  });

  it("falls back to messages with text when no message carries a score", () => {
    const timing = streamTiming([message(5, "one ", 0), message(6, "", 0), message(11, "two", 0)], 12);
    expect(timing).toMatchObject({ ttftMs: 5, tpotMs: 6, tokens: 2, steps: 2 });
  });

  it("has no TPOT for a single token and no TTFT for an empty stream", () => {
    expect(streamTiming([message(3, "a", -1)], 4)).toMatchObject({ ttftMs: 3, tpotMs: null, tokens: 1 });
    expect(streamTiming([], 2)).toEqual({ ttftMs: null, tpotMs: null, tokens: 0, steps: 0, totalMs: 2 });
  });

  it("counts each sample's token but times steps once per message", () => {
    const twoSamples = (atMs: number): TimedMessage => ({
      atMs,
      samples: [
        { text: "a", scores: [-1] },
        { text: "b", scores: [-2] },
      ],
    });
    expect(streamTiming([twoSamples(1), twoSamples(3), twoSamples(5)], 6)).toMatchObject({
      tokens: 6,
      steps: 3,
      tpotMs: 2,
    });
  });
});
