/**
 * Result output of the commands: Saxml's ASCII tables, `ls -csv` lines, or JSON (`--json`).
 */
import type { OutputStream } from "./command.js";
import { renderTable } from "./table.js";

/** A header and rows, printed as a table or, for `ls -csv`, as CSV lines. */
export interface Listing {
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

/**
 * CSV as saxutil prints it: `# ` and the raw column names, then one line per row; values are joined by
 * commas as they are (no quoting).
 */
export function renderCsv({ header, rows }: Listing): string {
  return [`# ${header.join(",")}`, ...rows.map((row) => row.join(","))].map((line) => `${line}\n`).join("");
}

/** Writes a listing as a table, or as CSV when `csv` is set. */
export function writeListing(out: OutputStream, listing: Listing, csv = false): void {
  out.write(csv ? renderCsv(listing) : renderTable(listing.header, listing.rows));
}

/**
 * Writes `value` as JSON. Non-finite numbers, which JSON cannot hold, become the strings `"NaN"`,
 * `"Infinity"` and `"-Infinity"`. `compact` writes one line (for streams of records, JSON Lines).
 */
export function writeJson(out: OutputStream, value: unknown, compact = false): void {
  const replacer = (_key: string, v: unknown) =>
    typeof v === "number" && !Number.isFinite(v) ? String(v) : v;
  out.write(`${JSON.stringify(value, replacer, compact ? undefined : 2)}\n`);
}
