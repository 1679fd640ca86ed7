/**
 * Minimal-raggedness word wrapping, as the table writer Saxml's saxutil uses does it: words are split
 * on single spaces (so runs of spaces give empty words), and the line breaks minimise the sum of the
 * squared slack of every line but the last.
 */
import { displayWidth } from "./text-width.js";

/** Penalty added for a line that is longer than the limit. */
const OVERLONG_PENALTY = 1e5;

/**
 * Wraps `text` to `limit` columns. A word longer than `limit` raises the limit to its width instead of
 * being broken. Returns the lines and the limit actually used.
 */
export function wrapText(text: string, limit: number): { lines: string[]; limit: number } {
  const words = text.replaceAll("\n", " ").split(" ");
  let effective = limit;
  for (const word of words) effective = Math.max(effective, displayWidth(word));
  const lines = breakWords(words, effective).map((line) => line.join(" "));
  return { lines, limit: effective };
}

/** Chooses the breaks between `words` (dynamic programming from the last word backwards). */
function breakWords(words: readonly string[], limit: number): string[][] {
  const n = words.length;
  const widths = words.map(displayWidth);
  // spanWidth(i, j): width of words i..j joined by single spaces.
  const prefix = [0];
  for (const w of widths) prefix.push((prefix.at(-1) ?? 0) + w);
  const spanWidth = (i: number, j: number) => (prefix[j + 1] ?? 0) - (prefix[i] ?? 0) + (j - i);
  const cost = new Array<number>(n).fill(Infinity);
  const nextBreak = new Array<number>(n).fill(n);
  for (let i = n - 1; i >= 0; i--) {
    if (spanWidth(i, n - 1) <= limit) {
      cost[i] = 0;
      nextBreak[i] = n;
      continue;
    }
    for (let j = i + 1; j < n; j++) {
      const slack = limit - spanWidth(i, j - 1);
      let candidate = slack * slack + (cost[j] ?? Infinity);
      if (spanWidth(i, j - 1) > limit) candidate += OVERLONG_PENALTY;
      if (candidate < (cost[i] ?? Infinity)) {
        cost[i] = candidate;
        nextBreak[i] = j;
      }
    }
  }
  const lines: string[][] = [];
  for (let i = 0; i < n;) {
    const end = Math.max(nextBreak[i] ?? n, i + 1);
    lines.push(words.slice(i, end));
    i = end;
  }
  return lines;
}
