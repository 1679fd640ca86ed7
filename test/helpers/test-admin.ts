/**
 * An admin server for tests, in-process, on a fresh local cell with short timings:
 *
 *   await using cell = await startTestAdmin();
 *   await cell.client.publish({ model: { modelId: "/sax/test/m", ... } });
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAdminServer, type AdminServerHandle } from "../../src/admin/admin-server.js";
import type { AdminServerOptions } from "../../src/config/admin-options.js";
import { AdminDefinition } from "../../src/gen/sax/admin.js";
import { unaryClient, type UnaryClient } from "../../src/grpc/client.js";

/** Timings that make a refresh/poll/prune cycle take well under a second or two. */
export const FAST_TIMINGS = {
  refreshIntervalMs: 200,
  pollIntervalMs: 100,
  pollTimeoutMs: 500,
  pruneTimeoutMs: 800,
  joinTimeoutMs: 2000,
  wakeUpTimeoutMs: 1000,
} as const;

/** A running test admin with a client connected to it. */
export interface TestAdmin extends AsyncDisposable {
  readonly server: AdminServerHandle;
  readonly client: UnaryClient<typeof AdminDefinition>;
  readonly saxRoot: string;
  /** The fs root given to the admin, or a note that it came from config.proto. */
  readonly fsRoot: string;
  /** Stops the admin (the folders stay until dispose). */
  stop(): Promise<void>;
}

/** Starts an admin for `/sax/test` on loopback; `overrides` replace any option. */
export async function startTestAdmin(overrides: Partial<AdminServerOptions> = {}): Promise<TestAdmin> {
  process.env.SAX_DEBUG_IPADDR = "1";
  const dir = await mkdtemp(join(tmpdir(), "sax-admin-"));
  const options = {
    saxCell: "/sax/test",
    saxRoot: join(dir, "root"),
    fsRoot: join(dir, "fs"),
    port: 0,
    statusPort: 0,
    ...FAST_TIMINGS,
    ...overrides,
  };
  const server = await startAdminServer(options);
  const client = unaryClient(AdminDefinition, server.address);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    client.close();
    await server.close();
  };
  return {
    server,
    client,
    saxRoot: options.saxRoot,
    fsRoot: options.fsRoot ?? "(from config.proto)",
    stop,
    [Symbol.asyncDispose]: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 5000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
