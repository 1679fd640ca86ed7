/**
 * What a saxutil subcommand is (name, help, flags, an async `run`) and the world it runs in
 * ({@link SaxutilEnv}: output streams, stdin, the sax root, the command deadline and the client
 * library). Commands never touch `process` directly, so tests can run them in-process.
 */
import type { Sax } from "../client/index.js";
import type { CallOptions } from "../client/index.js";
import { boolFlag, type FlagDefs, type FlagValues } from "./go-flags.js";

/** Where a command writes: stdout or stderr of the process, or a test buffer. */
export interface OutputStream {
  write(chunk: string | Uint8Array): void;
  /** Whether it is an interactive terminal (progress displays, screen redraws). */
  readonly isTTY: boolean;
}

/** Everything a command may use besides its arguments. */
export interface SaxutilEnv {
  /** The program name for messages and help, e.g. `saxutil`. */
  readonly program: string;
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  /** Reads all of stdin. */
  readStdin(): Promise<Buffer>;
  /** Reads one line of stdin without its newline; `undefined` at end of input. */
  readLine(): Promise<string | undefined>;
  /** The sax root (`--sax_root`, else `SAX_ROOT`); throws a ConfigError if neither is set. */
  saxRoot(): string;
  /** The client library, created on first use with the sax root. */
  sax(): Sax;
  /** `--json` was given before the subcommand. */
  readonly json: boolean;
  /** `--sax_timeout` in milliseconds. */
  readonly timeoutMs: number;
  /** Options for a call bounded by the command's deadline (what is left of `--sax_timeout`). */
  deadline(): CallOptions;
  /** Options for a call without deadline (watch, export), cancelled only when the command is. */
  noDeadline(): CallOptions;
}

/** One run of a command: its flags, positional arguments and environment. */
export interface CommandCall<D extends FlagDefs> {
  readonly flags: FlagValues<D>;
  readonly args: readonly string[];
  /** Flags given explicitly on the command line. */
  readonly given: ReadonlySet<string>;
  readonly env: SaxutilEnv;
}

/** A saxutil subcommand. */
export interface SaxutilCommand<D extends FlagDefs = FlagDefs> {
  readonly name: string;
  /** One line for the command list of `saxutil help`. */
  readonly synopsis: string;
  /** `saxutil help <name>` text before the flag list; ends with a newline. */
  readonly usage: string;
  readonly flags: D;
  /**
   * Runs the command. Resolving means exit 0; a {@link UsageError} exits 2; any other error exits 1
   * with its message.
   */
  run(call: CommandCall<D>): Promise<void>;
}

/** Declares a command, keeping its flag types for `run` while the registry sees plain commands. */
export function defineCommand<D extends FlagDefs>(command: SaxutilCommand<D>): SaxutilCommand {
  return command;
}

/** Wrong arguments for a command (exit 2). */
export class UsageError extends Error {
  override readonly name = "UsageError";
  /** Print the message as it is (a usage text) rather than as a `saxutil: …` line. */
  readonly verbatim: boolean;
  constructor(message: string, options: { verbatim?: boolean } = {}) {
    super(message);
    this.verbatim = options.verbatim ?? false;
  }
}

/** Throws a UsageError unless `args` has between `min` and `max` entries. */
export function expectArgs(args: readonly string[], min: number, max: number, what: string): void {
  if (args.length < min || args.length > max) {
    throw new UsageError(`${what} (got ${args.length} argument${args.length === 1 ? "" : "s"})`);
  }
}

/** The `-json` flag of listing and data commands. */
export const JSON_FLAG = {
  json: boolFlag(false, "Print the result as JSON instead of a table (same as saxutil --json)."),
} as const;

/** Whether a command with {@link JSON_FLAG} should print JSON. */
export function wantsJson(call: CommandCall<typeof JSON_FLAG>): boolean {
  return call.env.json || call.flags.json;
}
