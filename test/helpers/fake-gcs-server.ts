/**
 * Starts fake-gcs-server (a GCS emulator that enforces generation preconditions) as a child process on
 * loopback, for tests of GcsFsRoot. The binary lives in `.tools/bin`; when it is missing, this runs
 * `scripts/install-fake-gcs-server` first (that needs Go and takes a minute or two).
 */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { access } from "node:fs/promises";
import { freePort } from "./ports.js";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const BINARY = `${REPO}.tools/bin/fake-gcs-server`;
const INSTALLER = `${REPO}scripts/install-fake-gcs-server`;
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 3_000;
/** Attempts with a fresh port, in case another process takes the free one before the emulator binds it. */
const START_ATTEMPTS = 3;

/** A running emulator with one empty bucket; dispose it to stop the process. */
export interface FakeGcsServer extends AsyncDisposable {
  /** Origin of the emulator, e.g. `http://127.0.0.1:40123`: pass it as `GcsOptions.apiEndpoint`. */
  readonly endpoint: string;
  /** The bucket created at start. */
  readonly bucket: string;
}

/** Options of {@link startFakeGcsServer}. */
export interface FakeGcsServerOptions {
  /**
   * Bucket to create.
   * @default "sax-test"
   */
  readonly bucket?: string;
}

/** Starts the emulator on a free loopback port and creates the bucket. */
export async function startFakeGcsServer(options: FakeGcsServerOptions = {}): Promise<FakeGcsServer> {
  const bucket = options.bucket ?? "sax-test";
  await ensureInstalled();
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    const child = spawn(
      BINARY,
      [
        "-scheme",
        "http",
        "-host",
        "127.0.0.1",
        "-port",
        String(port),
        "-backend",
        "memory",
        "-log-level",
        "warn",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const output = collectOutput(child);
    try {
      await waitUntilHealthy(endpoint, child, output);
      await createBucket(endpoint, bucket);
      return { endpoint, bucket, [Symbol.asyncDispose]: () => stop(child) };
    } catch (err) {
      await stop(child);
      if (attempt >= START_ATTEMPTS) throw err;
    }
  }
}

async function ensureInstalled(): Promise<void> {
  try {
    await access(BINARY);
    return;
  } catch {
    // Not installed yet: build it below.
  }
  try {
    await promisify(execFile)(INSTALLER, { cwd: REPO });
  } catch (err) {
    const stderr = (err as { stderr?: unknown }).stderr;
    throw new Error(
      `fake-gcs-server is missing and scripts/install-fake-gcs-server failed (${String(stderr).trim()}); ` +
        `run scripts/install-fake-gcs-server (needs Go >= 1.26) and retry`,
      { cause: err },
    );
  }
}

/** Keeps the last lines the emulator printed, for start-up failures. */
function collectOutput(child: ChildProcess): () => string {
  let output = "";
  const append = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  return () => output.trim();
}

async function waitUntilHealthy(endpoint: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`fake-gcs-server exited (${child.exitCode ?? child.signalCode}) at start: ${output()}`);
    }
    try {
      if ((await fetch(`${endpoint}/_internal/healthcheck`)).ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`fake-gcs-server did not answer on ${endpoint} within ${START_TIMEOUT_MS} ms: ${output()}`);
}

async function createBucket(endpoint: string, bucket: string): Promise<void> {
  const response = await fetch(`${endpoint}/storage/v1/b?project=test`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: bucket }),
  });
  if (!response.ok) {
    throw new Error(`could not create bucket ${bucket}: ${response.status} ${await response.text()}`);
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
