/**
 * `lm.generate -stream` output. Each stream message carries, per sample, a `prefixLen` (characters of
 * what was sent so far to keep) and new `text`; {@link StreamAccumulator} rebuilds the texts and sums the
 * scores. {@link StreamPrinter} shows them:
 *
 * - on a terminal, as Saxml does: the screen is cleared and every text reprinted after each message;
 * - otherwise (a pipe, a file) incrementally, without clearing anything: the first sample's new text is
 *   appended as it arrives (a rewind past what was printed starts a fresh line), and the other samples,
 *   if any, are printed whole at the end;
 * - with `--json`, as JSON Lines: one record per message, then one summary record.
 *
 * At the end come the score lines (`Scores: …`, or `Total Scores[i]: …` and `Last Score[i]: …` for
 * several scores per sample), with floats in Go's `%v` form.
 */
import type { StreamedSample } from "../client/index.js";
import { SaxError } from "../common/errors.js";
import type { OutputStream } from "./command.js";
import { formatFloatShortest } from "./go-float-format.js";
import { writeJson } from "./output.js";

/** Clears a terminal and homes the cursor (what `clear` does). */
const CLEAR_SCREEN = "\u001b[H\u001b[2J";

/** The texts and scores of a stream so far. */
export class StreamAccumulator {
  /** Text of each sample, in code points as the server counts `prefixLen`. */
  private readonly chars: string[][] = [];
  /** Per sample, the sum of each score index over all messages. */
  readonly totals: number[][] = [];
  /** Per sample, the scores of its latest message. */
  readonly latest: number[][] = [];

  /** Applies one message; throws INTERNAL if a `prefixLen` points past the text received so far. */
  apply(samples: readonly StreamedSample[]): void {
    samples.forEach((sample, i) => {
      const chars = (this.chars[i] ??= []);
      if (sample.prefixLen > chars.length) {
        throw new SaxError(
          "INTERNAL",
          `stream item ${i} has prefix length ${sample.prefixLen}, longer than the ${chars.length} characters received`,
        );
      }
      chars.splice(sample.prefixLen, chars.length - sample.prefixLen, ...sample.text);
      const width = this.totals[0]?.length ?? sample.scores.length;
      const totals = (this.totals[i] ??= new Array<number>(width).fill(0));
      sample.scores.forEach((score, j) => (totals[j] = (totals[j] ?? 0) + score));
      this.latest[i] = [...sample.scores];
    });
  }

  /** The text of each sample so far. */
  texts(): string[] {
    return this.chars.map((chars) => chars.join(""));
  }

  /** The closing score lines, as Saxml prints them (empty if no message arrived). */
  scoreLines(): string[] {
    const width = this.totals[0]?.length ?? 0;
    const column = (rows: number[][], j: number) =>
      rows
        .filter((scores) => scores.length > 0)
        .map((scores) => formatFloatShortest(scores[j] ?? 0))
        .join(", ");
    const lines: string[] = [];
    for (let j = 0; j < width; j++) {
      lines.push(`${width === 1 ? "Scores" : `Total Scores[${j}]`}: ${column(this.totals, j)}`);
    }
    const lastWidth = this.latest[0]?.length ?? 0;
    if (lastWidth > 1) {
      lines.push("");
      for (let j = 0; j < lastWidth; j++) lines.push(`Last Score[${j}]: ${column(this.latest, j)}`);
    }
    return lines;
  }
}

/** Prints a stream as it arrives; see the module comment for the three modes. */
export class StreamPrinter {
  private readonly acc = new StreamAccumulator();
  /** What of sample 0 is on screen (non-terminal mode). */
  private printed = "";
  private midLine = false;

  constructor(
    private readonly out: OutputStream,
    private readonly json: boolean,
  ) {}

  /** Handles one stream message. */
  message(samples: readonly StreamedSample[]): void {
    this.acc.apply(samples);
    const texts = this.acc.texts();
    if (this.json) {
      const items = samples.map((sample, i) => ({ ...sample, accumulated: texts[i] ?? "" }));
      writeJson(this.out, { items }, true);
    } else if (this.out.isTTY) {
      this.out.write(CLEAR_SCREEN + texts.map((text) => `${text}\n\n`).join(""));
    } else {
      this.appendFirst(texts[0] ?? "");
    }
  }

  /** Prints the end of the stream: remaining texts and the score lines. */
  finish(): void {
    const texts = this.acc.texts();
    if (this.json) {
      writeJson(this.out, { texts, totalScores: this.acc.totals, lastScores: this.acc.latest }, true);
      return;
    }
    if (!this.out.isTTY && texts.length > 0) {
      this.out.write(
        `\n\n${texts
          .slice(1)
          .map((text) => `${text}\n\n`)
          .join("")}`,
      );
      this.midLine = false;
    }
    this.out.write(
      this.acc
        .scoreLines()
        .map((line) => `${line}\n`)
        .join(""),
    );
  }

  /** Ends a partly printed line, so that a failure report starts on its own line. */
  abort(): void {
    if (this.midLine) this.out.write("\n");
    this.midLine = false;
  }

  private appendFirst(text: string): void {
    if (text.startsWith(this.printed)) {
      this.out.write(text.slice(this.printed.length));
    } else {
      // The server rewound past what is already printed: start over on a fresh line.
      this.out.write(`\n${text}`);
    }
    this.printed = text;
    this.midLine = text !== "";
  }
}
