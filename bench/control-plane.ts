/**
 * Control-plane benchmark: latency of the admin's RPCs over real gRPC on loopback, with durable state
 * saves, and how fast a published model reaches a model server. The admin runs in this process
 * (test/helpers/test-admin.ts); the model server is the fake one that records Load and Unload calls.
 */
import { startFakeModelServer } from "../test/helpers/fake-model-server.js";
import { startTestAdmin, type TestAdmin } from "../test/helpers/test-admin.js";
import { runClosedLoop } from "./load-gen.js";
import { percentile, ratePerSecond, round } from "./stats.js";

const PATH = "saxml.server.pax.lm.params.lm_cloud.LmCloudSpmd2BTest";

/** Latency and rate of `count` calls of one RPC with `concurrency` in flight. */
export interface Latencies {
  readonly count: number;
  readonly concurrency: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly per_s: number;
}

/** The control-plane rows. */
export interface ControlPlaneResult {
  readonly publish_c1: Latencies;
  readonly publish_c16: Latencies;
  readonly list_one_c1: Latencies;
  readonly list_one_c16: Latencies;
  /** Listing every model of the cell after the publishes above (600 of them). */
  readonly list_all_600_models_c1: Latencies;
  /** Publish until a model server gets Load, then unpublish until it gets Unload. */
  readonly publish_to_load_c1: Latencies;
}

/**
 * Runs `count` calls of `op(i)` with `concurrency` in flight (the closed loop of load-gen.ts, with no
 * warm-up or time limit); returns latency percentiles and rate. A failed call fails the measurement.
 */
export async function measure(
  count: number,
  concurrency: number,
  op: (i: number) => Promise<unknown>,
): Promise<Latencies> {
  const result = await runClosedLoop({
    concurrency,
    durationMs: Number.POSITIVE_INFINITY,
    maxRequests: count,
    warmUp: false,
    send: async (_user, seq) => {
      const start = performance.now();
      await op(seq);
      return performance.now() - start;
    },
  });
  if (result.failures > 0) {
    throw new Error(`${result.failures} of ${count} calls failed: ${result.failureMessages.join("; ")}`);
  }
  const pct = (p: number) => round(percentile(result.records, p) ?? 0);
  return {
    count,
    concurrency,
    p50_ms: pct(0.5),
    p99_ms: pct(0.99),
    per_s: ratePerSecond(count, result.elapsedMs),
  };
}

const model = (id: string, replicas = 0) => ({
  modelId: id,
  modelPath: PATH,
  checkpointPath: "None",
  requestedNumReplicas: replicas,
});

async function publishToLoad(cell: TestAdmin, rounds: number): Promise<Latencies> {
  await using server = await startFakeModelServer();
  await server.join(cell.server.address, { servablePaths: [PATH] });
  // `return await`: the server must outlive the measurement, not be disposed when the promise is returned.
  return await measure(rounds, 1, async (i) => {
    const id = `/sax/test/placed-${i}`;
    await cell.client.publish({ model: model(id, 1) });
    await server.waitForCall("Load", (req) => req.modelKey === id, 20_000);
    await cell.client.unpublish({ modelId: id });
    await server.waitForCall("Unload", (req) => req.modelKey === id, 20_000);
  });
}

/** Runs every control-plane measurement against a fresh in-process admin (about ten seconds). */
export async function runControlPlaneBench(): Promise<ControlPlaneResult> {
  // Saxml's default 10 s refresh period: placement speed comes from refreshes triggered by changes.
  await using cell = await startTestAdmin({
    refreshIntervalMs: 10_000,
    pollIntervalMs: 10_000,
    pruneTimeoutMs: 25_000,
  });
  return {
    publish_c1: await measure(200, 1, (i) => cell.client.publish({ model: model(`/sax/test/a${i}`) })),
    publish_c16: await measure(400, 16, (i) => cell.client.publish({ model: model(`/sax/test/b${i}`) })),
    list_one_c1: await measure(2000, 1, () => cell.client.list({ modelId: "/sax/test/a0" })),
    list_one_c16: await measure(4000, 16, () => cell.client.list({ modelId: "/sax/test/a0" })),
    list_all_600_models_c1: await measure(200, 1, () => cell.client.list({ modelId: "" })),
    publish_to_load_c1: await publishToLoad(cell, 20),
  };
}
