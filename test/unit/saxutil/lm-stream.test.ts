import { describe, expect, it } from "vitest";
import type { StreamedSample } from "../../../src/client/index.js";
import { StreamAccumulator, StreamPrinter } from "../../../src/saxutil/lm-stream.js";

const sample = (text: string, prefixLen: number, scores: number[] = [-1]): StreamedSample => ({
  text,
  prefixLen,
  scores,
});

function capture(isTTY: boolean) {
  const out = { text: "", isTTY, write: (chunk: string | Uint8Array) => void (out.text += String(chunk)) };
  return out;
}

describe("StreamAccumulator", () => {
  it("keeps prefixLen characters (code points) and appends, per sample", () => {
    const acc = new StreamAccumulator();
    acc.apply([sample("héllo", 0), sample("a", 0)]);
    acc.apply([sample("😀!", 2), sample("b", 1)]);
    expect(acc.texts()).toEqual(["hé😀!", "ab"]);
  });

  it("fails when prefixLen points past the text received", () => {
    const acc = new StreamAccumulator();
    acc.apply([sample("ab", 0)]);
    expect(() => acc.apply([sample("c", 3)])).toThrow(/prefix length 3, longer than the 2 characters/);
  });

  it("prints one Scores line for one score per sample, else totals and last scores", () => {
    const single = new StreamAccumulator();
    single.apply([sample("a", 0, [-1]), sample("b", 0, [-2])]);
    single.apply([sample("c", 1, [-0.5]), sample("d", 1, [1234567])]);
    expect(single.scoreLines()).toEqual(["Scores: -1.5, 1.234565e+06"]);
    const multi = new StreamAccumulator();
    multi.apply([sample("a", 0, [-1, -2])]);
    multi.apply([sample("b", 1, [-0.25, 1e-5])]);
    expect(multi.scoreLines()).toEqual([
      "Total Scores[0]: -1.25",
      "Total Scores[1]: -1.99999",
      "",
      "Last Score[0]: -0.25",
      "Last Score[1]: 1e-05",
    ]);
  });
});

describe("StreamPrinter", () => {
  it("appends the first sample's new text to a pipe and starts a fresh line on a rewind", () => {
    const out = capture(false);
    const printer = new StreamPrinter(out, false);
    printer.message([sample("Hello", 0)]);
    expect(out.text).toBe("Hello");
    printer.message([sample(" world", 5)]);
    printer.message([sample("p!", 4)]);
    printer.finish();
    expect(out.text).toBe("Hello world\nHellp!\n\nScores: -3\n");
  });

  it("prints the other samples whole at the end when not on a terminal", () => {
    const out = capture(false);
    const printer = new StreamPrinter(out, false);
    printer.message([sample("one", 0), sample("two", 0)]);
    printer.finish();
    expect(out.text).toBe("one\n\ntwo\n\nScores: -1, -1\n");
  });

  it("writes JSON Lines: one record per message, then the summary", () => {
    const out = capture(false);
    const printer = new StreamPrinter(out, true);
    printer.message([sample("Hi", 0)]);
    printer.finish();
    expect(
      out.text
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as unknown),
    ).toEqual([
      { items: [{ text: "Hi", prefixLen: 0, scores: [-1], accumulated: "Hi" }] },
      { texts: ["Hi"], totalScores: [[-1]], lastScores: [[-1]] },
    ]);
  });

  it("ends a partly printed line before a failure is reported", () => {
    const out = capture(false);
    const printer = new StreamPrinter(out, false);
    printer.message([sample("Hel", 0)]);
    printer.abort();
    expect(out.text).toBe("Hel\n");
  });
});
