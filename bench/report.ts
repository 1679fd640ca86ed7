/** The benchmark's result document (bench/results/latest.json) and its plain-text tables for stdout. */
import { isBaselineReport, type BaselineName, type BaselineResult } from "./baselines.js";
import type { ControlPlaneResult, Latencies } from "./control-plane.js";
import { isPeerError, type PeersResult } from "./peers.js";
import type { EchoRow, ServingRow } from "./rows.js";
import type { TargetCheck } from "./targets.js";

/** The machine the numbers were taken on. */
export interface MachineInfo {
  readonly cores: number;
  readonly memory_bytes: number;
  readonly cpu_model: string;
  readonly node: string;
  readonly platform: string;
}

/** The model driven by the streaming benchmark. */
export interface ModelInfo {
  readonly class_path: string;
  readonly max_new_tokens: number;
  readonly prompts: number;
  readonly seed: number;
  readonly stream_interval_steps: number;
  readonly num_samples: number;
  /** Publish → ready, in seconds (load and compile in the worker). */
  readonly load_s: number | null;
  /** Publish overrides, also applied to the baselines' config. */
  readonly overrides: Readonly<Record<string, string>>;
}

/** Everything one run measured. */
export interface BenchResult {
  readonly date: string;
  readonly mode: "quick" | "full";
  readonly machine: MachineInfo;
  readonly model: ModelInfo;
  readonly rows: readonly ServingRow[];
  /** Why the streaming levels did not run (cell start, publish or load failure). */
  readonly serving_error?: string;
  readonly baselines: Readonly<Record<BaselineName, BaselineResult>>;
  readonly echo: EchoRow | { readonly error: string };
  readonly targets: Readonly<Record<string, TargetCheck>>;
  readonly control_plane: ControlPlaneResult | { readonly error: string };
  /** With `--peers`: llama.cpp, HF static batches and the bandwidth limit, on the same weights. */
  readonly peers?: PeersResult;
  readonly notes: readonly string[];
  readonly wall_s: number;
}

type Cell = string | number | boolean | null | undefined;

/** Left-aligned first column, right-aligned others, two spaces apart. */
export function formatTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const cells = [
    headers,
    ...rows.map((row) => row.map((cell) => (cell === null || cell === undefined ? "-" : String(cell)))),
  ];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? "").length)));
  return cells
    .map((row) =>
      row
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

function servingTable(rows: readonly ServingRow[]): string {
  return formatTable(
    [
      "concurrency",
      "tokens/s",
      "requests/s",
      "ttft p50 ms",
      "ttft p99 ms",
      "tpot p50 ms",
      "tpot p99 ms",
      "requests",
      "errors",
    ],
    rows.map((r) => [
      r.concurrency,
      r.tokens_per_s,
      r.requests_per_s,
      r.ttft_ms.p50,
      r.ttft_ms.p99,
      r.tpot_ms.p50,
      r.tpot_ms.p99,
      r.requests,
      r.errors,
    ]),
  );
}

function baselineTable(baselines: Readonly<Record<BaselineName, BaselineResult>>): string {
  return formatTable(
    ["baseline", "tokens/s", "requests", "tokens", "elapsed s", "error"],
    Object.entries(baselines).map(([name, b]) =>
      isBaselineReport(b)
        ? [name, b.tokens_per_s, b.requests, b.tokens, b.elapsed_s, ""]
        : [name, null, null, null, null, b.error],
    ),
  );
}

function targetTable(targets: Readonly<Record<string, TargetCheck>>): string {
  return formatTable(
    ["target", "measured", "wanted", "met", "note"],
    Object.entries(targets).map(([name, t]) => [
      name,
      t.measured,
      `${t.comparison} ${t.target}`,
      t.met ? "yes" : "NO",
      t.note ?? "",
    ]),
  );
}

function echoLine(echo: BenchResult["echo"]): string {
  if ("error" in echo) return `echo: ${echo.error}`;
  return (
    `echo lm.generate through the stack: p50 ${echo.p50_ms ?? "-"} ms, p99 ${echo.p99_ms ?? "-"} ms at 1 client ` +
    `(${echo.single_client_requests_per_s} req/s); ${echo.requests_per_s} req/s at ${echo.concurrency} clients ` +
    `(p50 ${echo.loaded_p50_ms ?? "-"} ms); errors ${echo.errors}`
  );
}

function controlPlaneTable(controlPlane: BenchResult["control_plane"]): string {
  if ("error" in controlPlane) return `control plane: ${controlPlane.error}`;
  return formatTable(
    ["admin rpc", "count", "concurrency", "p50 ms", "p99 ms", "per s"],
    Object.entries<Latencies>({ ...controlPlane }).map(([name, r]) => [
      name,
      r.count,
      r.concurrency,
      r.p50_ms,
      r.p99_ms,
      r.per_s,
    ]),
  );
}

function peersSection(peers: PeersResult): string {
  const llama = isPeerError(peers.llama_server)
    ? `llama-server: ${peers.llama_server.error}`
    : `llama-server (${peers.llama_server.binary})\n${servingTable(peers.llama_server.rows)}`;
  const hf = isPeerError(peers.hf_static_batch)
    ? `HF static batch: ${peers.hf_static_batch.error}`
    : formatTable(
        ["HF static batch", "tokens/s", "requests", "tokens", "elapsed s"],
        peers.hf_static_batch.rows.map((r) => [
          r.concurrency,
          r.tokens_per_s,
          r.requests,
          r.tokens,
          r.elapsed_s,
        ]),
      );
  const bw = peers.bandwidth;
  const bandwidth = isPeerError(bw)
    ? `bandwidth limit: ${bw.error}`
    : `bandwidth limit: ${bw.limit_tokens_per_s} tokens/s at batch 1 (${bw.read_gb_per_s} GB/s read over ` +
      `${(bw.bytes_per_step / 2 ** 20).toFixed(1)} MiB of weights a step, read again and again; ` +
      `${bw.read_gb_per_s_large} GB/s from main memory)`;
  return [llama, hf, bandwidth].join("\n\n");
}

/** The whole result as text for stdout. */
export function renderReport(result: BenchResult): string {
  const { model, machine } = result;
  const sections = [
    `sax-ts serving benchmark (${result.mode}) on ${machine.cores} cores, ${machine.cpu_model}, ` +
      `${(machine.memory_bytes / 2 ** 30).toFixed(1)} GiB`,
    `${model.class_path} through a local cell, ${model.max_new_tokens} new tokens max, ` +
      `${model.prompts} prompts, seed ${model.seed}, load ${model.load_s ?? "-"} s`,
    result.serving_error ? `serving: ${result.serving_error}` : servingTable(result.rows),
    baselineTable(result.baselines),
    ...(result.peers ? [peersSection(result.peers)] : []),
    echoLine(result.echo),
    targetTable(result.targets),
    controlPlaneTable(result.control_plane),
    ...result.notes.map((note) => `note: ${note}`),
    `wall time ${result.wall_s} s`,
  ];
  return `${sections.join("\n\n")}\n`;
}
