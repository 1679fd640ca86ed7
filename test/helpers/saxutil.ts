/**
 * saxutil for tests: in-process (fast, output captured) or as the real bin/saxutil subprocess.
 *
 *   const { status, stdout } = await saxutil(["ls", "/sax"], { saxRoot });
 */
import { execa } from "execa";
import { join } from "node:path";
import { runSaxutil } from "../../src/saxutil/cli.js";
import { REPO_ROOT } from "./processes.js";

/** What a saxutil run produced. */
export interface SaxutilResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link saxutil} and {@link saxutilBin}. */
export interface SaxutilRunOptions {
  /** Passed as SAX_ROOT (no --sax_root flag is added). */
  readonly saxRoot?: string;
  /** Bytes of stdin. @default "" */
  readonly stdin?: string;
  /** Whether stdout and stderr claim to be terminals. @default false */
  readonly tty?: boolean;
}

/** Runs saxutil in this process with captured output. */
export async function saxutil(
  argv: readonly string[],
  options: SaxutilRunOptions = {},
): Promise<SaxutilResult> {
  let stdout = "";
  let stderr = "";
  const decode = (chunk: string | Uint8Array) =>
    typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
  const stdinLines = (options.stdin ?? "").split("\n");
  if (stdinLines.at(-1) === "") stdinLines.pop();
  const status = await runSaxutil({
    program: "saxutil",
    argv,
    stdout: { write: (chunk) => (stdout += decode(chunk)), isTTY: options.tty ?? false },
    stderr: { write: (chunk) => (stderr += decode(chunk)), isTTY: options.tty ?? false },
    env: { SAX_ROOT: options.saxRoot },
    readStdin: () => Promise.resolve(Buffer.from(options.stdin ?? "")),
    readLine: () => Promise.resolve(stdinLines.shift()),
  });
  return { status, stdout, stderr };
}

/** Runs the real bin/saxutil (build first: it imports dist/). */
export async function saxutilBin(
  argv: readonly string[],
  options: SaxutilRunOptions & { timeoutMs?: number } = {},
): Promise<SaxutilResult> {
  const result = await execa("node", [join(REPO_ROOT, "bin", "saxutil"), ...argv], {
    reject: false,
    input: options.stdin ?? "",
    // An empty SAX_ROOT counts as unset, so the test runner's own value never leaks in.
    env: { SAX_DEBUG_IPADDR: "1", SAX_ROOT: options.saxRoot ?? "" },
    extendEnv: true,
    timeout: options.timeoutMs ?? 60_000,
    stripFinalNewline: false,
  });
  return { status: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}
