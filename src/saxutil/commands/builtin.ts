/**
 * The commands about saxutil itself: `help`, `flags` and `commands`.
 */
import { SaxError } from "../../common/errors.js";
import { defineCommand, UsageError, type SaxutilCommand } from "../command.js";
import { describeFlags } from "../go-flags.js";
import { describeTopLevelFlags, explainCommand, usageSummary } from "../help.js";

/** Builds the three builtins over the full command list (which includes them). */
export function builtinCommands(all: () => readonly SaxutilCommand[]): SaxutilCommand[] {
  const find = (name: string) => all().find((command) => command.name === name);

  const help = defineCommand({
    name: "help",
    synopsis: "describe subcommands and their syntax",
    usage:
      "help [<subcommand>]:\n" +
      "\tWithout an argument, list every subcommand with a one-line description.\n" +
      "\tWith one, print how to use that subcommand and its flags.\n",
    flags: {},
    run({ args, env }) {
      if (args.length === 0) {
        env.stdout.write(usageSummary(env.program, all()));
        return Promise.resolve();
      }
      const command = args.length === 1 ? find(args[0] ?? "") : undefined;
      if (!command) {
        const intro = args.length === 1 ? `Subcommand ${args[0]} not understood\n` : "";
        throw new UsageError(`${intro}${explainCommand(help)}`, { verbatim: true });
      }
      env.stdout.write(explainCommand(command));
      return Promise.resolve();
    },
  });

  const flags = defineCommand({
    name: "flags",
    synopsis: "describe all known top-level flags",
    usage:
      "flags [<subcommand>]:\n" +
      "\tWithout an argument, list the top-level flags (given before the subcommand).\n" +
      "\tWith one, list the flags of that subcommand.\n",
    flags: {},
    run({ args, env }) {
      if (args.length > 1) throw new UsageError(explainCommand(flags), { verbatim: true });
      if (args.length === 0) {
        // As in Saxml, the top-level list goes to stderr and a subcommand's to stdout.
        env.stderr.write(describeTopLevelFlags());
        return Promise.resolve();
      }
      const command = find(args[0] ?? "");
      if (!command) {
        throw new SaxError(
          "NOT_FOUND",
          `Subcommand ${args[0]} not understood; '${env.program} commands' lists them`,
        );
      }
      env.stdout.write(describeFlags(command.flags));
      return Promise.resolve();
    },
  });

  const commands = defineCommand({
    name: "commands",
    synopsis: "list all command names",
    usage: "commands:\n\tPrint the name of every subcommand, one per line.\n",
    flags: {},
    run({ args, env }) {
      if (args.length > 0) throw new UsageError(explainCommand(commands), { verbatim: true });
      env.stdout.write(
        all()
          .map((command) => `${command.name}\n`)
          .join(""),
      );
      return Promise.resolve();
    },
  });

  return [help, flags, commands];
}
