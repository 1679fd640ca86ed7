import { describe, expect, it } from "vitest";
import { saxutil, saxutilBin } from "../../helpers/saxutil.js";

// No cell is needed: every case fails before the first RPC.
describe("saxutil exit statuses", () => {
  it.each([
    [["nope"], /unknown subcommand "nope"/],
    [["ls"], /ls: provide \/sax, \/sax\/<cell> or \/sax\/<cell>\/<model>/],
    [["ls", "-bogus", "/sax"], /^flag provided but not defined: -bogus\nls /],
    [["publish", "/sax/test/m", "P", "None"], /publish: provide a model ID/],
    [["publish", "/sax/test/m", "P", "None", "x"], /number of replicas must be an integer, got "x"/],
    [["publish", "/sax/test/m", "P", "None", "1.0"], /got "1.0"/],
    [["publish", "/sax/test/m", "P", "None", "1", "BATCH_SIZE"], /overrides must have the form key=value/],
    [["update", "/sax/test/m", "-replicas=3"], /update: provide one model ID .*\(got 2 arguments\)/],
    [["update_checkpoint", "/sax/test/m"], /update_checkpoint: provide a model ID and a checkpoint path/],
    [["getacl"], /getacl: provide a cell or model ID/],
    [["setacl", "/sax/test"], /setacl: provide a cell or model ID/],
    [["create", "/sax/new", "/tmp/fs"], /create: provide a cell ID/],
    [["lm.generate", "/sax/test/m"], /lm.generate: provide a model ID and a query/],
    [["lm.score", "/sax/test/m", "prefix"], /lm.score: provide a model ID, a prefix and at least one suffix/],
    [
      ["vm.generate", "/sax/test/m", "text"],
      /vm.generate: provide a model ID, a text and an output directory/,
    ],
    [["commands", "x"], /^commands:\n/],
  ])("exits 2 for the usage error %j", async (argv, message) => {
    const { status, stderr } = await saxutil(argv);
    expect(status).toBe(2);
    expect(stderr).toMatch(message);
  });

  it.each([
    [
      ["publish", "/sax/test/Bad", "P", "None", "1"],
      /invalid model ID \/sax\/test\/Bad, should be \/sax\/<cell>\/<model>/,
    ],
    [["ls", "/sax/Bad"], /invalid model ID \/sax\/Bad/],
    [["ls", "-details=false", "-acls=false", "/sax/test/m"], /both -details=false and -acls=false/],
    [
      ["lm.generate", "-extra=a:1:2", "/sax/test/m", "q"],
      /^saxutil: Could not parse extra inputs: key-value pair/,
    ],
    [["lm.generate", "-stream", "-terse", "/sax/test/m", "q"], /-terse cannot be combined with -stream/],
    [["lm.generate", "-stream", "-n=2", "/sax/test/m", "q"], /-n cannot be combined with -stream/],
    [["update", "/sax/test/m"], /num replicas must be non-negative/],
    [
      ["export", "-rng_seed_mode=random", "/sax/test/m", "lm.generate", "/tmp/x"],
      /invalid -rng_seed_mode=random/,
    ],
    [["getacl", "/sax/Bad/x/y"], /is neither a cell ID/],
    [["create", "/sax/new", "/tmp/fs", ""], /provide a non-empty admin ACL/],
    [["am.recognize", "/sax/test/m", "a.wav"], /sax-ts has no audio service/],
  ])("exits 1 for the failed operation %j", async (argv, message) => {
    const { status, stderr } = await saxutil(argv);
    expect(status).toBe(1);
    expect(stderr).toMatch(message);
  });

  it("exits 2 with a hint when neither --sax_root nor SAX_ROOT is set", async () => {
    const { status, stderr } = await saxutil(["ls", "/sax"]);
    expect(status).toBe(2);
    expect(stderr).toMatch(
      /^saxutil: neither the --sax_root flag nor the SAX_ROOT environment variable is set/,
    );
  });

  it("keeps the statuses in the real binary", async () => {
    expect((await saxutilBin(["update", "/sax/test/m", "-replicas=3"])).status).toBe(2);
    const bad = await saxutilBin(["lm.generate", "-extra=a:1:2", "/sax/test/m", "q"]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("Could not parse extra inputs");
    expect((await saxutilBin(["publish", "/sax/test/Bad", "P", "None", "1"])).status).toBe(1);
  });
});
