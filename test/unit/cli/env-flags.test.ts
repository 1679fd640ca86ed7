import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { argsFromEnv, envNameOf, parseWithEnv } from "../../../src/cli/env-flags.js";
import { ConfigError } from "../../../src/common/errors.js";

const server = () =>
  new Command("server")
    .option("--sax_cell <cell>", "cell")
    .option("--port <port>", "port")
    .option("--poll_interval_ms <ms>", "poll")
    .option("--deterministic_rng", "switch")
    .exitOverride();

describe("envNameOf", () => {
  it("puts one SAX_ prefix before the flag's name in capitals", () => {
    expect(envNameOf("--port")).toBe("SAX_PORT");
    expect(envNameOf("--poll_interval_ms")).toBe("SAX_POLL_INTERVAL_MS");
    expect(envNameOf("--sax_cell")).toBe("SAX_CELL");
    expect(envNameOf("--sax_root")).toBe("SAX_ROOT");
  });
});

describe("argsFromEnv", () => {
  it("turns set variables into flags and leaves unset ones out", () => {
    const args = argsFromEnv(server().options, { SAX_CELL: "/sax/test", SAX_PORT: "10001", HOME: "/root" });
    expect(args).toEqual(["--sax_cell=/sax/test", "--port=10001"]);
  });

  it("reads switches as 1/true/yes and 0/false/no/empty", () => {
    const { options } = server();
    for (const on of ["1", "true", "YES"])
      expect(argsFromEnv(options, { SAX_DETERMINISTIC_RNG: on })).toEqual(["--deterministic_rng"]);
    for (const off of ["0", "false", "no", ""])
      expect(argsFromEnv(options, { SAX_DETERMINISTIC_RNG: off })).toEqual([]);
  });

  it("rejects anything else for a switch, naming the variable", () => {
    expect(() => argsFromEnv(server().options, { SAX_DETERMINISTIC_RNG: "maybe" })).toThrow(ConfigError);
    expect(() => argsFromEnv(server().options, { SAX_DETERMINISTIC_RNG: "maybe" })).toThrow(
      /SAX_DETERMINISTIC_RNG="maybe": --deterministic_rng is a switch/,
    );
  });
});

describe("parseWithEnv", () => {
  it("takes values from the environment, and the command line wins", () => {
    const env = { SAX_PORT: "10001", SAX_POLL_INTERVAL_MS: "500", SAX_DETERMINISTIC_RNG: "1" };
    const flags = parseWithEnv(server(), ["--port", "20002"], env).opts();
    expect(flags).toEqual({ port: "20002", poll_interval_ms: "500", deterministic_rng: true });
  });

  it("mentions the variables in the help", () => {
    let help = "";
    const command = server().configureOutput({ writeOut: (s) => (help += s) });
    expect(() => parseWithEnv(command, ["--help"], {})).toThrow();
    expect(help).toMatch(/SAX_ and the flag's name in capitals/);
  });
});
