/**
 * A local cell of real processes for the benchmark (test/helpers/processes.ts' startProcessCell on a
 * temp folder), its model server started with --deterministic_rng so that its random weights are the
 * baselines' weights. Models are published through the Node client and
 * waited for; a load that fails is reported with the model server's reason instead of waiting out the
 * deadline. Disposing stops both servers (the model server stops its Python workers) and removes the
 * temp folder.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Sax, type PublishSpec } from "../src/client/index.js";
import { ModelStatus } from "../src/gen/sax/common.js";
import { ModeletDefinition } from "../src/gen/sax/modelet.js";
import { unaryClient } from "../src/grpc/client.js";
import { startProcessCell, type ProcessCell, type ServerProcess } from "../test/helpers/processes.js";

/** The cell every benchmark model lives in. */
export const BENCH_CELL = "/sax/test";

const STATUS_POLL_MS = 500;

/** A running benchmark cell. */
export interface BenchCell extends AsyncDisposable {
  /** A client of the cell, closed on dispose. */
  readonly sax: Sax;
  /** Publishes `classPath` as `modelId` (checkpoint None, one replica) and waits until it is loaded. */
  publish(
    modelId: string,
    classPath: string,
    timeoutMs: number,
    overrides?: Readonly<Record<string, string>>,
  ): Promise<void>;
}

/** Starts admin_server and model_server on a fresh temp sax root. */
export async function startBenchCell(): Promise<BenchCell> {
  const dir = await mkdtemp(join(tmpdir(), "sax-bench-"));
  let cell: ProcessCell | undefined;
  let sax: Sax | undefined;
  const stop = async () => {
    await sax?.close();
    await cell?.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    cell = await startProcessCell(dir, { modelServerArgs: ["--deterministic_rng"] });
    const { server } = cell;
    const client = new Sax({ saxRoot: cell.saxRoot });
    sax = client;
    return {
      sax: client,
      publish: (modelId, classPath, timeoutMs, overrides = {}) =>
        publishAndWait(client, server, { modelId, modelPath: classPath, overrides }, timeoutMs),
      [Symbol.asyncDispose]: stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function publishAndWait(
  sax: Sax,
  server: ServerProcess,
  model: Pick<PublishSpec, "modelId" | "modelPath" | "overrides">,
  timeoutMs: number,
): Promise<void> {
  const admin = sax.admin(BENCH_CELL);
  const { modelId } = model;
  await admin.publish({ ...model, checkpointPath: "None", numReplicas: 1 });
  const stopWatching = new AbortController();
  try {
    await Promise.race([
      admin.waitForReady(modelId, 1, { timeoutMs }),
      watchForFailedLoad(server, modelId, stopWatching.signal).then(
        () => new Promise<never>(() => undefined),
      ),
    ]);
  } finally {
    stopWatching.abort();
  }
}

/**
 * Rejects with the model server's reason once it reports the model FAILED or exits; resolves when
 * `signal` says the caller stopped waiting.
 */
async function watchForFailedLoad(
  server: ServerProcess,
  modelId: string,
  signal: AbortSignal,
): Promise<void> {
  const modelet = unaryClient(ModeletDefinition, server.address);
  try {
    while (!signal.aborted) {
      if (server.process.exitCode !== null) {
        throw new Error(
          `model_server exited with ${server.process.exitCode}: ${server.stderr().slice(-2000)}`,
        );
      }
      const { models } = await modelet.getStatus({ includeFailureReasons: true }, { timeoutMs: 10_000 });
      const entry = models.find((m) => m.modelKey === modelId);
      if (entry?.modelStatus === ModelStatus.FAILED) {
        throw new Error(`loading ${modelId} failed: ${entry.failureReason}`);
      }
      await sleep(STATUS_POLL_MS, undefined, { signal }).catch(() => undefined);
    }
  } finally {
    modelet.close();
  }
}
