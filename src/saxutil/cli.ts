/**
 * saxutil's dispatcher: top-level flags, then the subcommand, its flags, and its run, mapped to an exit
 * status (0 success, 1 failed operation, 2 usage error). Runs in-process against an injected
 * {@link SaxutilIo}, so that tests need no subprocess; src/cli/saxutil-main.ts binds it to the process.
 */
import { Sax } from "../client/index.js";
import { ConfigError } from "../common/errors.js";
import { UsageError, type OutputStream, type SaxutilCommand, type SaxutilEnv } from "./command.js";
import { allCommands } from "./commands/registry.js";
import { describeFailure, exitStatusOf, EXIT_USAGE } from "./failure.js";
import { FlagError, parseFlags, type FlagValues } from "./go-flags.js";
import { explainCommand, usageSummary } from "./help.js";
import { TOP_LEVEL_FLAGS } from "./top-flags.js";

/** The process-facing side of one saxutil run. */
export interface SaxutilIo {
  /** Program name for help and messages (the basename of argv[0] in Saxml). */
  readonly program: string;
  /** Arguments after the program name. */
  readonly argv: readonly string[];
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  /** Environment variables (`SAX_ROOT`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readStdin(): Promise<Buffer>;
  readLine(): Promise<string | undefined>;
  /** Cancels the running command (e.g. on SIGINT). */
  readonly signal?: AbortSignal;
}

/** Runs saxutil once; resolves with the exit status. */
export async function runSaxutil(io: SaxutilIo): Promise<number> {
  const commands = allCommands();
  let top;
  try {
    top = parseFlags(TOP_LEVEL_FLAGS, io.argv);
  } catch (err) {
    if (!(err instanceof FlagError)) throw err;
    io.stderr.write(`${err.isHelp ? "" : `${err.message}\n`}${usageSummary(io.program, commands)}`);
    return err.isHelp ? 0 : EXIT_USAGE;
  }
  const [name, ...rest] = top.args;
  const command = commands.find((c) => c.name === name);
  if (!command) {
    const problem = name === undefined ? "" : `${io.program}: unknown subcommand ${JSON.stringify(name)}\n`;
    io.stderr.write(`${problem}${usageSummary(io.program, commands)}`);
    return EXIT_USAGE;
  }
  let parsed;
  try {
    parsed = parseFlags(command.flags, rest);
  } catch (err) {
    if (!(err instanceof FlagError)) throw err;
    io.stderr.write(`${err.isHelp ? "" : `${err.message}\n`}${explainCommand(command)}`);
    return EXIT_USAGE;
  }
  const session = new Session(io, top.values);
  try {
    await command.run({ flags: parsed.values, args: parsed.args, given: parsed.given, env: session.env });
    return 0;
  } catch (err) {
    report(io, command, err, top.values);
    return exitStatusOf(err);
  } finally {
    await session.close();
  }
}

type TopLevelValues = FlagValues<typeof TOP_LEVEL_FLAGS>;

function report(io: SaxutilIo, command: SaxutilCommand, err: unknown, top: TopLevelValues): void {
  if (err instanceof UsageError && err.verbatim) {
    io.stderr.write(err.message.endsWith("\n") ? err.message : `${err.message}\n`);
    return;
  }
  const context = { program: io.program, command: command.name, timeoutMs: top.sax_timeout };
  io.stderr.write(`${io.program}: ${describeFailure(err, context)}\n`);
  if (top.verbose && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
}

/** The environment of one command run: its deadline and the client, created on demand. */
class Session {
  readonly env: SaxutilEnv;
  private client: Sax | undefined;

  constructor(io: SaxutilIo, top: TopLevelValues) {
    const deadlineAt = Date.now() + Math.max(0, top.sax_timeout);
    const signalOption = io.signal === undefined ? {} : { signal: io.signal };
    const saxRoot = () => {
      const root = top.sax_root || io.env.SAX_ROOT;
      if (!root) {
        throw new ConfigError(
          "neither the --sax_root flag nor the SAX_ROOT environment variable is set; " +
            `point one of them at the folder holding sax/<cell>/ (e.g. ${io.program} --sax_root=/tmp/sax-root ls /sax)`,
        );
      }
      return root;
    };
    this.env = {
      program: io.program,
      stdout: io.stdout,
      stderr: io.stderr,
      readStdin: () => io.readStdin(),
      readLine: () => io.readLine(),
      saxRoot,
      sax: () => (this.client ??= new Sax({ saxRoot: saxRoot() })),
      json: top.json,
      timeoutMs: top.sax_timeout,
      deadline: () => ({ ...signalOption, timeoutMs: Math.max(0, deadlineAt - Date.now()) }),
      noDeadline: () => signalOption,
    };
  }

  async close(): Promise<void> {
    await this.client?.close();
  }
}
