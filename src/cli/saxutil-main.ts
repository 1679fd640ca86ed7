/**
 * saxutil: the command-line tool of a Sax cell (Saxml-compatible flags, commands, output and exit
 * statuses; see src/saxutil/). This file only binds the dispatcher to the process.
 */
import { basename } from "node:path";
import { createInterface } from "node:readline";

// The client library logs through src/common/log.ts; a command-line tool keeps its stderr for its own
// messages unless the user asks for more.
process.env.SAX_LOG_LEVEL ??= "warn";

const { runSaxutil } = await import("../saxutil/cli.js");

/** Reads all of stdin. */
async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Reads one line of stdin; `undefined` at end of input. */
function readLine(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const lines = createInterface({ input: process.stdin, terminal: false });
    let answered = false;
    lines.once("line", (line) => {
      answered = true;
      lines.close();
      resolve(line);
    });
    lines.once("close", () => {
      if (!answered) resolve(undefined);
    });
  });
}

const stream = (target: NodeJS.WriteStream) => ({
  write: (chunk: string | Uint8Array) => void target.write(chunk),
  isTTY: target.isTTY === true,
});

const status = await runSaxutil({
  program: basename(process.argv[1] ?? "saxutil"),
  argv: process.argv.slice(2),
  stdout: stream(process.stdout),
  stderr: stream(process.stderr),
  env: process.env,
  readStdin,
  readLine,
});
// Let pending writes drain, then exit even if a socket or timer of the client is still open.
await new Promise<void>((resolve) => process.stdout.write("", () => resolve()));
process.exit(status);
