/**
 * Control-plane benchmark: latency of the admin's RPCs over real gRPC on loopback, with durable state
 * saves, and how fast a published model reaches a model server. Writes bench/results/latest.json.
 *
 *   npm run bench
 */
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { startFakeModelServer } from "../test/helpers/fake-model-server.js";
import { startTestAdmin, type TestAdmin } from "../test/helpers/test-admin.js";

const PATH = "saxml.server.pax.lm.params.lm_cloud.LmCloudSpmd2BTest";

interface Latencies {
  readonly count: number;
  readonly concurrency: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly per_s: number;
}

/** Runs `count` calls of `op(i)` with `concurrency` in flight; returns latency percentiles and rate. */
async function measure(
  count: number,
  concurrency: number,
  op: (i: number) => Promise<unknown>,
): Promise<Latencies> {
  const samples: number[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const t = performance.now();
      await op(i);
      samples.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedS = (performance.now() - started) / 1000;
  samples.sort((a, b) => a - b);
  const pct = (p: number) =>
    round(samples[Math.min(samples.length - 1, Math.floor(p * samples.length))] ?? 0);
  return { count, concurrency, p50_ms: pct(0.5), p99_ms: pct(0.99), per_s: round(count / elapsedS) };
}

const round = (x: number) => Math.round(x * 100) / 100;
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

async function main(): Promise<void> {
  // Saxml's default 10 s refresh period: placement speed comes from refreshes triggered by changes.
  await using cell = await startTestAdmin({
    refreshIntervalMs: 10_000,
    pollIntervalMs: 10_000,
    pruneTimeoutMs: 25_000,
  });
  const rows = {
    publish_c1: await measure(200, 1, (i) => cell.client.publish({ model: model(`/sax/test/a${i}`) })),
    publish_c16: await measure(400, 16, (i) => cell.client.publish({ model: model(`/sax/test/b${i}`) })),
    list_one_c1: await measure(2000, 1, () => cell.client.list({ modelId: "/sax/test/a0" })),
    list_one_c16: await measure(4000, 16, () => cell.client.list({ modelId: "/sax/test/a0" })),
    list_all_600_models_c1: await measure(200, 1, () => cell.client.list({ modelId: "" })),
    publish_to_load_c1: await publishToLoad(cell, 20),
  };
  const result = {
    admin: rows,
    machine: { cores: cpus().length, memory_gib: round(totalmem() / 2 ** 30), node: process.version },
    date: new Date().toISOString(),
  };
  console.log("control plane (admin over gRPC on loopback, local fs root, fsync'd saves)");
  console.table(Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, v])));
  await mkdir(new URL("results/", import.meta.url), { recursive: true });
  await writeFile(new URL("results/latest.json", import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
  console.log("wrote bench/results/latest.json");
}

await main();
