/**
 * The measured part against a local cell: it starts the cell, publishes the model and the echo servable
 * side by side (echo loads while the model compiles), then drives streamed generation at each
 * concurrency of the plan, then unary echo calls at one client and at many. Every request is timed
 * here, in the client process. A failure anywhere is kept as the outcome's error, and the cell is
 * always stopped.
 */
import type { DataCallOptions, LmClient } from "../src/client/index.js";
import type { LmServableConfig } from "../src/registry/index.js";
import { startBenchCell } from "./cell.js";
import { runClosedLoop } from "./load-gen.js";
import { promptFor, type ResolvedBenchPlan } from "./plan.js";
import { echoRow, servingRow, type EchoRow, type ServingRow } from "./rows.js";
import { round } from "./stats.js";
import { streamTiming, type StreamTiming, type TimedMessage } from "./stream-timing.js";

/** Progress lines for the operator (stderr). */
export type Say = (line: string) => void;

/** What the cell part measured. */
export interface ServingOutcome {
  rows: ServingRow[];
  echo: EchoRow | { error: string };
  /** Publish → ready of the model, in seconds. */
  loadS: number | null;
  /** Why the streaming levels did not (all) run. */
  error?: string;
}

const LM_ID = "/sax/test/bench-lm";
const ECHO_ID = "/sax/test/bench-echo";
const ECHO_CLASS = "saxts.test.Echo";

/** The extra input that caps one request's decode steps, where a servable declares it. */
export const MAX_STEPS_INPUT = "per_example_max_decode_steps";

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Starts a cell, measures every level of the plan against it, and stops it. */
export async function runServingBench(
  plan: ResolvedBenchPlan,
  config: LmServableConfig,
  say: Say,
): Promise<ServingOutcome> {
  const outcome: ServingOutcome = { rows: [], echo: { error: "the cell did not get to echo" }, loadS: null };
  try {
    say("starting a local cell (admin_server, model_server)…");
    await using cell = await startBenchCell();
    say(`publishing ${plan.classPath} and ${ECHO_CLASS}; the first load compiles…`);
    const started = performance.now();
    const echoReady = cell.publish(ECHO_ID, ECHO_CLASS, plan.loadTimeoutMs);
    // Awaited after the streaming levels; until then a failure must not count as unhandled.
    echoReady.catch(() => undefined);
    await cell.publish(LM_ID, plan.classPath, plan.loadTimeoutMs, plan.overrides);
    outcome.loadS = round((performance.now() - started) / 1000, 1);
    say(`  ${plan.classPath} ready in ${outcome.loadS} s`);
    const lm = cell.sax.model(LM_ID).lm;
    const options = {
      timeoutMs: plan.requestTimeoutMs,
      ...(MAX_STEPS_INPUT in config.serving.extraInputs
        ? { extraInputs: { items: { [MAX_STEPS_INPUT]: plan.maxNewTokens } } }
        : {}),
    };
    await timedStream(lm, promptFor(plan.prompts, 0), options);
    outcome.rows = await runStreamingLevels(lm, plan, options, say);
    try {
      await echoReady;
      say("echo through the whole stack…");
      outcome.echo = await runEchoLevels(cell.sax.model(ECHO_ID).lm, plan);
    } catch (err) {
      outcome.echo = { error: messageOf(err) };
    }
    say("stopping the cell…");
  } catch (err) {
    outcome.error = messageOf(err);
    say(`serving failed: ${outcome.error}`);
  }
  return outcome;
}

/** Sends one GenerateStream and times its messages. */
export async function timedStream(
  lm: LmClient,
  prompt: string,
  options: DataCallOptions,
): Promise<StreamTiming> {
  const messages: TimedMessage[] = [];
  const start = performance.now();
  for await (const samples of lm.generateStream(prompt, options)) {
    messages.push({ atMs: performance.now() - start, samples });
  }
  return streamTiming(messages, performance.now() - start);
}

/** One row per concurrency level of the plan. */
export async function runStreamingLevels(
  lm: LmClient,
  plan: ResolvedBenchPlan,
  options: DataCallOptions,
  say: Say,
): Promise<ServingRow[]> {
  const rows: ServingRow[] = [];
  for (const concurrency of plan.levels) {
    const result = await runClosedLoop({
      concurrency,
      durationMs: plan.levelDurationMs,
      send: (_user, seq) => timedStream(lm, promptFor(plan.prompts, seq), options),
    });
    const row = servingRow(concurrency, result);
    say(
      `  ${concurrency} streams: ${row.tokens_per_s} tokens/s, ${row.requests_per_s} requests/s, ` +
        `ttft p50 ${row.ttft_ms.p50} ms, tpot p50 ${row.tpot_ms.p50} ms, ${row.errors} errors`,
    );
    rows.push(row);
  }
  return rows;
}

/** Echo's unary lm.generate latency at one client and rate at `plan.echoConcurrency` clients. */
export async function runEchoLevels(lm: LmClient, plan: ResolvedBenchPlan): Promise<EchoRow> {
  const send = async (_user: number, seq: number) => {
    const start = performance.now();
    await lm.generate(promptFor(plan.prompts, seq), { timeoutMs: plan.requestTimeoutMs });
    return performance.now() - start;
  };
  const single = await runClosedLoop({ concurrency: 1, durationMs: plan.echoDurationMs, send });
  const loaded = await runClosedLoop({
    concurrency: plan.echoConcurrency,
    durationMs: plan.echoDurationMs,
    send,
  });
  return echoRow(single, loaded, plan.echoConcurrency);
}
