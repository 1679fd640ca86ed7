/**
 * ASCII tables laid out exactly as Saxml's saxutil prints them (spec §7.3), so that scripts that parse
 * its output keep working:
 *
 * - `+`/`-`/`|` borders, one space of padding, the header row then a separator, a bottom border;
 * - headers upper-cased, `_` and most `.` turned into spaces, centred (extra space on the right);
 * - numeric cells right-aligned, others left-aligned;
 * - cells wider than 30 columns word-wrapped to 30 (a wrapped cell makes its column 30 wide), cells with
 *   newlines re-flowed to the width of their widest line; rows of uneven length keep their own cells.
 */
import { displayWidth } from "./text-width.js";
import { wrapText } from "./word-wrap.js";

/** Widest a cell gets before it is wrapped. */
export const MAX_CELL_WIDTH = 30;

const NUMERIC_CELL = /^-?(?:\d{1,3}(?:,\d{3})*|\d+)(?:\.\d+)?$/;

/** Renders a table with the given header and rows; returns the text, ending with a newline. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = new Map<number, number>();
  const measure = (cells: readonly string[]) =>
    cells.map((cell, column) => {
      const { lines, width } = layoutCell(cell);
      widths.set(column, Math.max(widths.get(column) ?? 0, width));
      return lines;
    });
  const headerLines = measure(header);
  const rowLines = rows.map(measure);
  const columnCount = widths.size;
  const columnWidth = (column: number) => widths.get(column) ?? 0;

  const border = `+${Array.from({ length: columnCount }, (_, c) => "-".repeat(columnWidth(c) + 2) + "+").join("")}\n`;
  let out = border;
  if (header.length > 0) {
    const height = Math.max(...headerLines.map((lines) => lines.length));
    for (let line = 0; line < height; line++) {
      let text = "|";
      for (let column = 0; column < columnCount; column++) {
        const cell = formatHeader(headerLines[column]?.[line] ?? "");
        text += ` ${padCenter(cell, columnWidth(column))} |`;
      }
      out += `${text}\n`;
    }
    out += border;
  }
  for (const cells of rowLines) {
    const height = Math.max(1, ...cells.map((lines) => lines.length));
    for (let line = 0; line < height; line++) {
      let text = "";
      cells.forEach((lines, column) => {
        const cell = lines[line] ?? "";
        const padded = NUMERIC_CELL.test(cell.trim())
          ? padLeft(cell, columnWidth(column))
          : padRight(cell, columnWidth(column));
        text += `| ${padded} `;
      });
      out += `${text}|\n`;
    }
  }
  return out + border;
}

/** Splits a cell into display lines and returns the width its column needs. */
function layoutCell(cell: string): { lines: string[]; width: number } {
  const original = cell.split("\n");
  const widest = Math.max(...original.map(displayWidth));
  // Lines are joined and re-wrapped to the widest original line (at most MAX_CELL_WIDTH), so a
  // wrapped cell's column is never narrower than that limit.
  const limit = Math.min(widest, MAX_CELL_WIDTH);
  const { lines } = wrapText(original.join(" "), limit);
  const width = Math.max(limit, ...lines.map(displayWidth));
  return { lines, width };
}

/** Header text as printed: `_` → space, `.` → space unless it sits between digits, upper-cased. */
export function formatHeader(text: string): string {
  const chars = [...text];
  const numOrSpace = (ch: string | undefined) => ch !== undefined && /[0-9 ]/.test(ch);
  const mapped = chars.map((ch, i) => {
    if (ch === "_") return " ";
    if (ch !== ".") return ch;
    const before = i === 0 || numOrSpace(chars[i - 1]);
    const after = i === chars.length - 1 || numOrSpace(chars[i + 1]);
    return before && after ? ch : " ";
  });
  const trimmed = mapped.join("").trim();
  return (trimmed === "" && text !== "" ? " " : trimmed).toUpperCase();
}

function padCenter(text: string, width: number): string {
  const gap = width - displayWidth(text);
  if (gap <= 0) return text;
  const left = Math.floor(gap / 2);
  return " ".repeat(left) + text + " ".repeat(gap - left);
}

function padLeft(text: string, width: number): string {
  return " ".repeat(Math.max(0, width - displayWidth(text))) + text;
}

function padRight(text: string, width: number): string {
  return text + " ".repeat(Math.max(0, width - displayWidth(text)));
}
