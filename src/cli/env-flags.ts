/**
 * Flags from environment variables, for containers and process managers: each flag of our servers can be
 * set with `SAX_` and its name in capitals (`--port` from `SAX_PORT`; a flag already named `sax_…` keeps
 * one prefix, so `--sax_cell` comes from `SAX_CELL` and `--sax_root` from `SAX_ROOT`). A flag given on
 * the command line wins over its variable.
 */
import type { Command, Option } from "commander";
import { ConfigError } from "../common/errors.js";

const TRUE_VALUES = new Set(["1", "true", "yes"]);
const FALSE_VALUES = new Set(["", "0", "false", "no"]);

/** The environment variable of a long flag: `--poll_interval_ms` → `SAX_POLL_INTERVAL_MS`. */
export function envNameOf(longFlag: string): string {
  const name = longFlag.replace(/^--/, "").toUpperCase();
  return name.startsWith("SAX_") ? name : `SAX_${name}`;
}

/**
 * The command-line arguments that the set variables stand for: `--flag=value` for flags taking a value,
 * `--flag` for a switch whose variable is 1/true/yes (0/false/no/empty leave it off).
 */
export function argsFromEnv(options: readonly Option[], env: NodeJS.ProcessEnv): string[] {
  const args: string[] = [];
  for (const option of options) {
    if (option.long === undefined) continue;
    const name = envNameOf(option.long);
    const value = env[name];
    if (value === undefined) continue;
    if (!option.isBoolean()) {
      args.push(`${option.long}=${value}`);
      continue;
    }
    const lowered = value.trim().toLowerCase();
    if (TRUE_VALUES.has(lowered)) args.push(option.long);
    else if (!FALSE_VALUES.has(lowered))
      throw new ConfigError(`${name}=${JSON.stringify(value)}: ${option.long} is a switch; set 1 or 0`);
  }
  return args;
}

/**
 * Parses `argv` (default: this process's arguments) after the arguments that `env` sets; usage errors
 * throw a CommanderError (exitOverride) for runMain to turn into the exit status.
 */
export function parseWithEnv(
  command: Command,
  argv: readonly string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
): Command {
  command.addHelpText(
    "after",
    "\nEvery flag can also be set with an environment variable: SAX_ and the flag's name in capitals\n" +
      "(--port from SAX_PORT, --sax_cell from SAX_CELL; switches take 1 or 0). Flags on the command line win.",
  );
  // Value flags: commander keeps the last occurrence, so the command line's come after the environment's.
  return command.exitOverride().parse([...argsFromEnv(command.options, env), ...argv], { from: "user" });
}
