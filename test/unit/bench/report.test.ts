import { describe, expect, it } from "vitest";
import { formatTable } from "../../../bench/report.js";

describe("formatTable", () => {
  it("pads the first column left and the others right, showing missing values as dashes", () => {
    expect(
      formatTable(
        ["name", "tokens/s", "note"],
        [
          ["c1", 12.5, "ok"],
          ["concurrency 32", null, undefined],
        ],
      ),
    ).toBe(
      [
        "name            tokens/s  note",
        "c1                  12.5    ok",
        "concurrency 32         -     -",
      ].join("\n"),
    );
  });
});
