/**
 * Shared shell of our binaries: one-line errors (`<program>: <message>`), exit 2 for usage and config
 * errors, 1 for failed operations, stack traces only with SAX_VERBOSE=1.
 */
import { CommanderError } from "commander";
import { ConfigError, toSaxError } from "../common/errors.js";

/** Exit status of a usage or configuration error. */
export const EXIT_USAGE = 2;
/** Exit status of a failed operation. */
export const EXIT_FAILURE = 1;

/** Runs `main`, reporting a thrown error as one line on stderr and exiting with the matching status. */
export function runMain(program: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
    const sax = toSaxError(err);
    process.stderr.write(`${program}: ${sax.message}\n`);
    if (process.env.SAX_VERBOSE === "1") process.stderr.write(`${sax.stack ?? ""}\n`);
    process.exit(err instanceof ConfigError ? EXIT_USAGE : EXIT_FAILURE);
  });
}

/** `--sax_root`, else `SAX_ROOT`, else a ConfigError saying how to set it. */
export function resolveSaxRoot(flag: string | undefined): string {
  const root = flag ?? process.env.SAX_ROOT;
  if (!root)
    throw new ConfigError("neither the --sax_root flag nor the SAX_ROOT environment variable is set");
  return root;
}
