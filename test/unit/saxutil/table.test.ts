import { describe, expect, it } from "vitest";
import { renderCsv } from "../../../src/saxutil/output.js";
import { formatHeader, renderTable } from "../../../src/saxutil/table.js";
import { wrapText } from "../../../src/saxutil/word-wrap.js";

const LS_MODEL_HEADER = [
  "Model",
  "Model Path",
  "Checkpoint Path",
  "# of Replicas",
  "(Selected) ReplicaAddress",
  "Methods",
];

describe("renderTable", () => {
  it("lays out the spec's `ls /sax/test/lm2b` example byte for byte", () => {
    const row = [
      "lm2b",
      "saxml.server.pax.lm.params.lm_cloud.LmCloudSpmd2BTest",
      "None",
      "1",
      "10.0.0.5:10001",
      "lm.generate, lm.generate_stream, lm.score",
    ];
    expect(renderTable(LS_MODEL_HEADER, [row]) + renderTable(["Method", "ACL"], [])).toBe(
      [
        "+-------+-------------------------------------------------------+-----------------+---------------+---------------------------+--------------------------------+",
        "| MODEL |                      MODEL PATH                       | CHECKPOINT PATH | # OF REPLICAS | (SELECTED) REPLICAADDRESS |            METHODS             |",
        "+-------+-------------------------------------------------------+-----------------+---------------+---------------------------+--------------------------------+",
        "| lm2b  | saxml.server.pax.lm.params.lm_cloud.LmCloudSpmd2BTest | None            |             1 | 10.0.0.5:10001            | lm.generate,                   |",
        "|       |                                                       |                 |               |                           | lm.generate_stream, lm.score   |",
        "+-------+-------------------------------------------------------+-----------------+---------------+---------------------------+--------------------------------+",
        "+--------+-----+",
        "| METHOD | ACL |",
        "+--------+-----+",
        "+--------+-----+",
        "",
      ].join("\n"),
    );
  });

  it("right-aligns numeric cells only", () => {
    const rows = [
      ["a", "-1.2345679"],
      ["bb", "1,234"],
      ["c", "1.2345679E+08"],
    ];
    expect(renderTable(["Text", "Score"], rows)).toBe(
      [
        "+------+---------------+",
        "| TEXT |     SCORE     |",
        "+------+---------------+",
        "| a    |    -1.2345679 |",
        "| bb   |         1,234 |",
        "| c    | 1.2345679E+08 |",
        "+------+---------------+",
        "",
      ].join("\n"),
    );
  });

  it("gives rows longer than the header blank header columns (lm.score with 2 scores per suffix)", () => {
    const rows = [
      ["s1", "0.5", "-1.2345679", "", ""],
      ["s2", "-2", "-3", "", ""],
    ];
    expect(renderTable(["Suffix", "Score"], rows)).toBe(
      [
        "+--------+-------+------------+--+--+",
        "| SUFFIX | SCORE |            |  |  |",
        "+--------+-------+------------+--+--+",
        "| s1     |   0.5 | -1.2345679 |  |  |",
        "| s2     |    -2 |         -3 |  |  |",
        "+--------+-------+------------+--+--+",
        "",
      ].join("\n"),
    );
  });

  it("re-flows a multi-line cell to the width of its widest line", () => {
    const table = renderTable(["x"], [["line one\nline two"], ["a long first line that goes on\nb"]]);
    expect(table.split("\n").slice(3, -2)).toEqual([
      "| line one                       |",
      "| line two                       |",
      "| a long first line that goes on |",
      "| b                              |",
    ]);
  });

  it("widens a column for a word longer than 30 columns instead of breaking it", () => {
    const word = "x".repeat(35);
    expect(renderTable(["h"], [[`${word} y`]]).split("\n")[3]).toBe(`| ${word} |`);
  });
});

describe("formatHeader", () => {
  it.each([
    ["Model ID", "MODEL ID"],
    ["# of Replicas", "# OF REPLICAS"],
    ["(Selected) ReplicaAddress", "(SELECTED) REPLICAADDRESS"],
    ["generate", "GENERATE"],
    ["model_path", "MODEL PATH"],
    ["lm.score", "LM SCORE"],
    ["v1.5", "V1.5"],
    ["a.5", "A 5"],
    ["1.5", "1.5"],
  ])("formats %j as %j", (header, text) => {
    expect(formatHeader(header)).toBe(text);
  });
});

describe("wrapText", () => {
  it("minimises raggedness rather than filling lines greedily", () => {
    expect(wrapText("aaa bb cc ddddd", 6).lines).toEqual(["aaa", "bb cc", "ddddd"]);
  });
});

describe("renderCsv", () => {
  it("prints '# ' and raw column names, then unquoted comma-joined rows", () => {
    const listing = {
      header: ["#", "Model ID"],
      rows: [
        ["0", "a"],
        ["1", "b,c"],
      ],
    };
    expect(renderCsv(listing)).toBe("# #,Model ID\n0,a\n1,b,c\n");
  });
});
