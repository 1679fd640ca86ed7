/**
 * Help texts: the usage summary (`saxutil help`, or no subcommand), one command's usage with its flags
 * (`saxutil help <cmd>`, `<cmd> -h`), and the top-level flag list (`saxutil flags`). The summary's layout
 * is Saxml's, byte for byte: scripts and docs quote it.
 */
import type { SaxutilCommand } from "./command.js";
import { describeFlags } from "./go-flags.js";
import { TOP_LEVEL_FLAGS } from "./top-flags.js";

/** The usage summary listing every command, sorted by name. */
export function usageSummary(program: string, commands: readonly SaxutilCommand[]): string {
  const lines = [...commands]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((command) => `\t${command.name.padEnd(15)}  ${command.synopsis}\n`)
    .join("");
  return (
    `Usage: ${program} <flags> <subcommand> <subcommand args>\n\n` +
    `Subcommands:\n${lines}\n\n` +
    `Use "${program} flags" for a list of top-level flags\n`
  );
}

/** One command's usage text followed by its flags. */
export function explainCommand(command: SaxutilCommand): string {
  return command.usage + describeFlags(command.flags);
}

/** The top-level flags in Go's `PrintDefaults` layout. */
export function describeTopLevelFlags(): string {
  return describeFlags(TOP_LEVEL_FLAGS);
}
