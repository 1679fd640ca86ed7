import { describe, expect, it } from "vitest";
import {
  boolFlag,
  describeFlags,
  durationFlag,
  FlagError,
  intFlag,
  listFlag,
  parseFlags,
  stringFlag,
} from "../../../src/saxutil/go-flags.js";

const FLAGS = {
  csv: boolFlag(false, "Output CSV."),
  details: boolFlag(true, "Show details."),
  n: intFlag(0, "How many."),
  extra: stringFlag("", "Extra inputs."),
  timeout: durationFlag(60_000, "Deadline."),
  sig: listFlag("Signatures."),
};

describe("parseFlags", () => {
  it("accepts -flag, --flag, -flag=value and -flag value, and stops at the first positional", () => {
    const parsed = parseFlags(FLAGS, ["-csv", "--n", "3", "-extra=a:1", "--details=false", "/sax/x", "-n=4"]);
    expect(parsed.values).toMatchObject({ csv: true, n: 3, extra: "a:1", details: false });
    expect(parsed.args).toEqual(["/sax/x", "-n=4"]);
    expect([...parsed.given].sort()).toEqual(["csv", "details", "extra", "n"]);
  });

  it("treats a lone - as a positional and -- as the end of the flags", () => {
    expect(parseFlags(FLAGS, ["-", "-csv"]).args).toEqual(["-", "-csv"]);
    expect(parseFlags(FLAGS, ["--", "-csv"]).args).toEqual(["-csv"]);
  });

  it("appends every occurrence of a list flag, split at commas", () => {
    expect(parseFlags(FLAGS, ["-sig=a,b", "-sig", "c"]).values.sig).toEqual(["a", "b", "c"]);
  });

  it("keeps defaults for flags not given", () => {
    const { values, given } = parseFlags(FLAGS, []);
    expect(values).toEqual({ csv: false, details: true, n: 0, extra: "", timeout: 60_000, sig: [] });
    expect(given.size).toBe(0);
  });

  it.each([
    [["-x"], "flag provided but not defined: -x"],
    [["-n=abc"], 'invalid value "abc" for flag -n: parse error'],
    [["-csv=maybe"], 'invalid boolean value "maybe" for -csv: parse error'],
    [["-n"], "flag needs an argument: -n"],
    [["---n"], "bad flag syntax: ---n"],
    [["-=1"], "bad flag syntax: -=1"],
  ])("rejects %j with Go's message", (argv, message) => {
    expect(() => parseFlags(FLAGS, argv)).toThrow(new FlagError(message));
  });

  it("reports -h and -help as a request for help", () => {
    for (const argv of [["-h"], ["--help"]]) {
      expect(() => parseFlags(FLAGS, argv)).toThrow(expect.objectContaining({ isHelp: true }));
    }
  });
});

describe("describeFlags", () => {
  it("prints Go's PrintDefaults layout, sorted, with non-zero defaults", () => {
    expect(describeFlags(FLAGS)).toBe(
      "  -csv\n    \tOutput CSV.\n" +
        "  -details\n    \tShow details. (default true)\n" +
        "  -extra string\n    \tExtra inputs.\n" +
        "  -n int\n    \tHow many.\n" +
        "  -sig value\n    \tSignatures.\n" +
        "  -timeout duration\n    \tDeadline. (default 1m0s)\n",
    );
  });

  it("keeps a one-letter boolean's help on its line and quotes string defaults", () => {
    const flags = { v: boolFlag(false, "Verbose."), mode: stringFlag("stateful", "Mode.") };
    expect(describeFlags(flags)).toBe('  -mode string\n    \tMode. (default "stateful")\n  -v\tVerbose.\n');
  });
});
