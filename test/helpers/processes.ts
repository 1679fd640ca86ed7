/**
 * Our binaries as real child processes, for tests. Servers bind loopback (SAX_DEBUG_IPADDR=1) and every
 * wait is bounded.
 */
import { execa, type ResultPromise } from "execa";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Location } from "../../src/gen/sax/admin.js";
import { eventually } from "./test-admin.js";

/** The repository root. */
export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Runs one of bin/ to completion; never throws on a non-zero exit. The time limit leaves room for a
 * model load on a busy 2-core machine (local_cell loads TinyLlama).
 */
export function runBin(name: string, args: readonly string[], env: Record<string, string> = {}) {
  return execa("node", [join(REPO_ROOT, "bin", name), ...args], {
    reject: false,
    env: { SAX_DEBUG_IPADDR: "1", SAX_LOG_LEVEL: "info", ...env },
    timeout: 120_000,
  });
}

/** A running server binary (admin_server, model_server). */
export interface ServerProcess extends AsyncDisposable {
  readonly process: ResultPromise;
  /** `127.0.0.1:<port>` it serves on. */
  readonly address: string;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** A running admin_server process. */
export type AdminProcess = ServerProcess;
/** A running model_server process. */
export type ModelServerProcess = ServerProcess;

/**
 * Starts `bin/<name>` with loopback addresses and waits (bounded) until `servingAt(stderr)` yields its
 * address; fails with its stderr if it exits first. Disposing sends `disposeSignal`.
 */
async function startServerProcess(
  name: string,
  args: readonly string[],
  servingAt: (stderr: string) => Promise<string | undefined> | string | undefined,
  disposeSignal: NodeJS.Signals,
): Promise<ServerProcess> {
  const child = execa("node", [join(REPO_ROOT, "bin", name), ...args], {
    reject: false,
    env: { SAX_DEBUG_IPADDR: "1", SAX_LOG_LEVEL: "info" },
    buffer: false,
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const address = await eventually(
    () => {
      if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${stderr}`);
      return servingAt(stderr);
    },
    15_000,
    `${name} to serve`,
  );
  const kill = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await child;
  };
  return {
    process: child,
    address,
    stderr: () => stderr,
    kill,
    [Symbol.asyncDispose]: () => kill(disposeSignal),
  };
}

/** Starts bin/admin_server for `/sax/test` on a free port and waits until it published its location. */
export async function startAdminProcess(
  saxRoot: string,
  extraArgs: readonly string[] = [],
): Promise<AdminProcess> {
  const locationFile = join(saxRoot, "sax/test/location.proto");
  const before = await readLocation(locationFile);
  const args = ["--sax_cell=/sax/test", `--sax_root=${saxRoot}`, "--port=0", "--status_port=0", ...extraArgs];
  return startServerProcess(
    "admin_server",
    args,
    async (stderr) => {
      const location = await readLocation(locationFile);
      return location && location !== before && stderr.includes("serving at") ? location : undefined;
    },
    "SIGKILL",
  );
}

/** Starts bin/model_server for `/sax/test` on a free port and waits until it serves. */
export function startModelServerProcess(
  saxRoot: string,
  extraArgs: readonly string[] = [],
): Promise<ModelServerProcess> {
  const args = ["--sax_cell=/sax/test", `--sax_root=${saxRoot}`, "--port=0", ...extraArgs];
  // SIGTERM on dispose: the model server then stops its workers too.
  return startServerProcess(
    "model_server",
    args,
    (stderr) => /model server serving at (\S+)/.exec(stderr)?.[1],
    "SIGTERM",
  );
}

async function readLocation(file: string): Promise<string | undefined> {
  try {
    return Location.decode(await readFile(file)).location;
  } catch {
    return undefined;
  }
}

/** A cell of real processes: admin_server and model_server of `/sax/test` on `<dir>/root`. */
export interface ProcessCell extends AsyncDisposable {
  readonly saxRoot: string;
  readonly admin: AdminProcess;
  readonly server: ModelServerProcess;
  /** Stops the model server (and its workers), then the admin; `dir` stays, its owner removes it. */
  stop(): Promise<void>;
}

/** How a {@link ProcessCell} starts. */
export interface ProcessCellOptions {
  /** Extra admin_server flags. @default fast refresh and poll (500 ms, 300 ms) */
  readonly adminArgs?: readonly string[];
  /** Extra model_server flags, after `--location_poll_ms=200`. */
  readonly modelServerArgs?: readonly string[];
}

/**
 * Writes the cell's config into `<dir>/root` with admin_config (file system root `<dir>/fs`), then starts
 * admin_server and model_server; a failed start stops whatever had started.
 */
export async function startProcessCell(dir: string, options: ProcessCellOptions = {}): Promise<ProcessCell> {
  const saxRoot = join(dir, "root");
  const config = await runBin("admin_config", [
    "--sax_cell=/sax/test",
    `--sax_root=${saxRoot}`,
    `--fs_root=${join(dir, "fs")}`,
  ]);
  if (config.exitCode !== 0) throw new Error(`admin_config failed: ${config.stderr}`);
  const admin = await startAdminProcess(
    saxRoot,
    options.adminArgs ?? ["--refresh_interval_ms=500", "--poll_interval_ms=300"],
  );
  let server: ModelServerProcess;
  try {
    server = await startModelServerProcess(saxRoot, [
      "--location_poll_ms=200",
      ...(options.modelServerArgs ?? []),
    ]);
  } catch (err) {
    await admin.kill();
    throw err;
  }
  const stop = async () => {
    await server.kill();
    await admin.kill();
  };
  return { saxRoot, admin, server, stop, [Symbol.asyncDispose]: stop };
}
