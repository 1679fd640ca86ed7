import { describe, expect, it } from "vitest";
import { saxutil, saxutilBin } from "../../helpers/saxutil.js";

/** `saxutil help`, exactly as spec §7.2 gives it. */
const SUMMARY = `Usage: saxutil <flags> <subcommand> <subcommand args>

Subcommands:
\tam.recognize     Transcribe an audio.
\tcommands         list all command names
\tcreate           Create a Sax cell.
\tdelete           Delete a Sax cell.
\texport           Export a model to a TF SavedModel.
\tflags            describe all known top-level flags
\tgetacl           Get ACLs for a cell or model.
\thelp             describe subcommands and their syntax
\tlm.embed         Embed a text against a given model.
\tlm.generate      Generate a text against a given model.
\tlm.gradient      Generate gradient of a pair of prefix and suffix against a given model.
\tlm.score         Score a prefix and suffix against a given model.
\tls               List published models.
\tpublish          Publish a model.
\tsave             Save a model checkpoint.
\tsetacl           Set ACLs for a cell or model.
\tunpublish        Unpublish a model.
\tupdate           Update a model.
\tupdate_checkpoint  Update a model's checkpoint path.
\tvm.classify      Classify an image against a given model.
\tvm.detect        Detects objects in an image (as byte array) using a given model.
\tvm.embed         Embed an image (as byte array) against a given model.
\tvm.generate      Generate list of images and scores for the input text.
\twatch            Watch addresses of a model.


Use "saxutil flags" for a list of top-level flags
`;

// These run bin/saxutil, which imports dist/: `npm run build` first (npm test does).
describe("bin/saxutil help", () => {
  it("prints exactly the spec's usage summary on stdout for `help`, exit 0", async () => {
    expect(await saxutilBin(["help"])).toEqual({ status: 0, stdout: SUMMARY, stderr: "" });
  });

  it("prints the summary on stderr with exit 2 when no subcommand is given", async () => {
    expect(await saxutilBin([])).toEqual({ status: 2, stdout: "", stderr: SUMMARY });
  });

  it("prints the summary on stderr with exit 0 for a top-level -h", async () => {
    expect(await saxutilBin(["--help"])).toEqual({ status: 0, stdout: "", stderr: SUMMARY });
  });

  it("rejects an unknown top-level flag with Go's message, then the summary, exit 2", async () => {
    const result = await saxutilBin(["-x", "ls"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(`flag provided but not defined: -x\n${SUMMARY}`);
  });

  it("rejects a bad --sax_timeout value with exit 2", async () => {
    const result = await saxutilBin(["--sax_timeout=abc", "ls", "/sax"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^invalid value "abc" for flag -sax_timeout: parse error\nUsage: saxutil/);
  });
});

describe("saxutil help, flags and commands", () => {
  it("prints a command's usage and flags for `help <cmd>`", async () => {
    const { status, stdout } = await saxutil(["help", "update"]);
    expect(status).toBe(0);
    expect(stdout).toBe(
      "update [-replicas=<num>] <model ID>:\n" +
        "\tChange how many replicas serve a published model (other fields stay as listed).\n" +
        "  -replicas int\n    \tNumber of replicas for this model. (default -1)\n",
    );
  });

  it("fails `help nope` with exit 2, naming it and printing help's own usage on stderr", async () => {
    const { status, stdout, stderr } = await saxutil(["help", "nope"]);
    expect({ status, stdout }).toEqual({ status: 2, stdout: "" });
    expect(stderr).toMatch(/^Subcommand nope not understood\nhelp \[<subcommand>\]:\n/);
  });

  it("prints the top-level flags on stderr for `flags`, a command's flags on stdout for `flags <cmd>`", async () => {
    const top = await saxutil(["flags"]);
    expect(top.status).toBe(0);
    expect(top.stderr).toContain("  -sax_timeout duration\n");
    expect(top.stderr).toContain("(default 1m0s)\n");
    const ls = await saxutil(["flags", "ls"]);
    expect(ls).toMatchObject({ status: 0, stderr: "" });
    expect(ls.stdout).toMatch(/^ {2}-acls\n/);
  });

  it("fails `flags nope` with exit 1", async () => {
    const { status, stderr } = await saxutil(["flags", "nope"]);
    expect(status).toBe(1);
    expect(stderr).toContain("Subcommand nope not understood");
  });

  it("lists the commands in Saxml's registration order", async () => {
    const { stdout } = await saxutil(["commands"]);
    expect(stdout.trim().split("\n")).toEqual([
      "help",
      "flags",
      "commands",
      "create",
      "delete",
      "ls",
      "publish",
      "update",
      "getacl",
      "setacl",
      "unpublish",
      "watch",
      "update_checkpoint",
      "export",
      "save",
      "vm.classify",
      "vm.detect",
      "vm.embed",
      "lm.embed",
      "lm.generate",
      "lm.gradient",
      "am.recognize",
      "lm.score",
      "vm.generate",
    ]);
  });

  it("prints usage and flags on stderr with exit 2 for `<cmd> -h`", async () => {
    const { status, stdout, stderr } = await saxutil(["ls", "-h"]);
    expect({ status, stdout }).toEqual({ status: 2, stdout: "" });
    expect(stderr).toMatch(/^ls \[-csv\] \[-details\] \[-acls\] \/sax/);
    expect(stderr).toContain("  -csv\n");
  });
});
