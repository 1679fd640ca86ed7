/** Report rows built from what the load generator recorded: one per concurrency level, and echo's. */
import type { ClosedLoopResult } from "./load-gen.js";
import { percentiles, ratePerSecond, round, type Percentiles } from "./stats.js";
import type { StreamTiming } from "./stream-timing.js";

/** One concurrency level of the streaming benchmark, as written to latest.json. */
export interface ServingRow {
  readonly concurrency: number;
  /** Generated tokens per second over all users. */
  readonly tokens_per_s: number;
  /** Completed requests per second. */
  readonly requests_per_s: number;
  /** Time to the first token. */
  readonly ttft_ms: Percentiles;
  /** Time per output token after the first, per request. */
  readonly tpot_ms: Percentiles;
  /** Requests that completed in the measured phase. */
  readonly requests: number;
  readonly tokens: number;
  /** Failed requests, warm-ups included, with the first few messages. */
  readonly errors: number;
  readonly error_messages?: readonly string[];
  /** Measured phase, in seconds. */
  readonly elapsed_s: number;
}

/** The row of one level of streamed requests. */
export function servingRow(concurrency: number, result: ClosedLoopResult<StreamTiming>): ServingRow {
  const { records, elapsedMs } = result;
  const tokens = records.reduce((sum, record) => sum + record.tokens, 0);
  const present = (values: (number | null)[]) => values.filter((v): v is number => v !== null);
  return {
    concurrency,
    tokens_per_s: ratePerSecond(tokens, elapsedMs, 1),
    requests_per_s: ratePerSecond(records.length, elapsedMs),
    ttft_ms: percentiles(present(records.map((r) => r.ttftMs))),
    tpot_ms: percentiles(present(records.map((r) => r.tpotMs)), 3),
    requests: records.length,
    tokens,
    errors: result.failures,
    ...(result.failureMessages.length > 0 ? { error_messages: result.failureMessages } : {}),
    elapsed_s: round(elapsedMs / 1000),
  };
}

/** Unary echo calls through the whole stack: latency at one client, rate at many. */
export interface EchoRow {
  /** Median latency with one client, in ms. */
  readonly p50_ms: number | null;
  readonly p99_ms: number | null;
  /** Requests per second with one client. */
  readonly single_client_requests_per_s: number;
  /** Requests per second with `concurrency` clients. */
  readonly requests_per_s: number;
  readonly concurrency: number;
  /** Median latency with `concurrency` clients, in ms. */
  readonly loaded_p50_ms: number | null;
  readonly errors: number;
  readonly error_messages?: readonly string[];
}

/** Echo's row from a one-client level and a many-client level of latency samples (ms). */
export function echoRow(
  single: ClosedLoopResult<number>,
  loaded: ClosedLoopResult<number>,
  concurrency: number,
): EchoRow {
  const singleLatency = percentiles(single.records, 3);
  const messages = [...new Set([...single.failureMessages, ...loaded.failureMessages])];
  return {
    p50_ms: singleLatency.p50,
    p99_ms: singleLatency.p99,
    single_client_requests_per_s: ratePerSecond(single.records.length, single.elapsedMs, 1),
    requests_per_s: ratePerSecond(loaded.records.length, loaded.elapsedMs, 1),
    concurrency,
    loaded_p50_ms: percentiles(loaded.records, 3).p50,
    errors: single.failures + loaded.failures,
    ...(messages.length > 0 ? { error_messages: messages } : {}),
  };
}
