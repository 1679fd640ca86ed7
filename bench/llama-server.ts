/**
 * The llama.cpp peer of `npm run bench -- --peers`: llama-server (scripts/build-llama-server) serving the
 * cell's own weights as GGUF (`python -m sax_worker.bench_peers export`), driven like the cell.
 *
 * For each concurrency level N a fresh llama-server starts with N slots (continuous batching is its
 * default), each slot's context holding the longest prompt plus the new tokens; once GET /health says
 * ok, the same closed loop as the cell's levels (bench/load-gen.ts) sends N streams at a time. A request
 * is POST /completion with the servable's prefill ids as the prompt (so both engines see the same
 * tokens), greedy decoding with EOS ignored, no prompt cache, streamed as server-sent events. Then the
 * server is stopped (SIGTERM, SIGKILL after 5 s), also when the level failed.
 *
 * Timing follows the cell's streams (bench/stream-timing.ts): each event that delivers tokens is a
 * message, at the time its chunk arrived. llama-server sends one event per token, except that it holds
 * back a token that ends inside a UTF-8 character until the character completes; every event reports
 * `tokens_predicted` so far, and an event counts the tokens predicted since the previous one. It sends
 * no log probabilities, so each delivered token becomes a sample with a stand-in score
 * ({@link DELIVERED_TOKEN_SCORE}) that streamTiming's score rule counts, text or not. The final event must
 * report exactly `maxNewTokens` predicted and the prompt's length evaluated; otherwise the request fails.
 */
import { existsSync } from "node:fs";
import { cpus } from "node:os";
import { execa, type ResultPromise } from "execa";
import { z } from "zod";
import { freePort } from "../test/helpers/ports.js";
import { eventually } from "../test/helpers/test-admin.js";
import type { Say } from "./levels.js";
import { runClosedLoop } from "./load-gen.js";
import { servingRow, type ServingRow } from "./rows.js";
import { streamTiming, type StreamTiming, type TimedMessage } from "./stream-timing.js";

/** What the llama.cpp peer is run with. */
export interface LlamaServerPeerOptions {
  /** The llama-server binary (scripts/build-llama-server prints its path). */
  readonly binary: string;
  /** The model as GGUF (`python -m sax_worker.bench_peers export` prints its path). */
  readonly gguf: string;
  /** The prompts as the servable's prefill ids; request `seq` sends prompt `seq` modulo their count. */
  readonly promptIds: readonly (readonly number[])[];
  /** Tokens every request generates. */
  readonly maxNewTokens: number;
  /** Concurrency levels, each against a fresh server with that many slots. */
  readonly levels: readonly number[];
  /** Measured phase of each level, in ms (the plan's `levelDurationMs`). */
  readonly levelDurationMs: number;
  /** Deadline of one request, in ms (the plan's `requestTimeoutMs`). */
  readonly requestTimeoutMs: number;
  /** Threads for decoding and for prompt batches. @default the machine's core count */
  readonly threads?: number;
  /** Loopback port of every level's server. @default a free port, picked per level */
  readonly port?: number;
  /** How long a server may take to answer /health with ok, in ms. @default 120_000 */
  readonly startTimeoutMs?: number;
}

/** The peer's rows (a level that could not run has a row with its error), or why it did not run. */
export type LlamaServerOutcome = { rows: ServingRow[] } | { error: string };

/** What one server is started with. */
export interface LlamaServerArgs {
  readonly gguf: string;
  readonly port: number;
  /** Slots, one per concurrent request. */
  readonly slots: number;
  /** Context (KV cache) cells per slot. */
  readonly slotContext: number;
  readonly threads: number;
}

/** One parsed `/completion` stream event; further fields are kept as they come. */
export const completionEventSchema = z.looseObject({
  content: z.string().default(""),
  tokens: z.array(z.number().int()).default([]),
  stop: z.boolean(),
  /** Tokens predicted so far (all of them, in the final event). */
  tokens_predicted: z.number().int().nonnegative(),
  /** Prompt tokens evaluated. */
  tokens_evaluated: z.number().int().nonnegative().optional(),
  /** Why generation ended, in the final event: "limit" when `n_predict` was reached. */
  stop_type: z.string().optional(),
});

/** One `/completion` stream event. */
export type CompletionEvent = z.infer<typeof completionEventSchema>;

/** A stream event and when its chunk arrived, in ms since the request was sent. */
export interface TimedCompletionEvent {
  readonly atMs: number;
  readonly event: CompletionEvent;
}

/**
 * The score given to each token an event delivers: any non-zero value makes streamTiming count it,
 * including tokens with no text of their own (bytes of a partial character, control pieces).
 */
export const DELIVERED_TOKEN_SCORE = -1;

/** llama.cpp rounds each slot's KV cache up to a multiple of this many cells anyway. */
const KV_CELL_PADDING = 256;
const LOG_TAIL_LINES = 8;
const DEFAULT_START_TIMEOUT_MS = 120_000;
const HEALTH_REQUEST_TIMEOUT_MS = 2_000;
/** /health's answer once the model is loaded (503 with an error before). */
const healthSchema = z.object({ status: z.literal("ok") });

/**
 * Context cells one slot needs: the longest prompt plus the new tokens, and one spare because
 * llama-server ends a request whose cache is a token short of full, padded as llama.cpp pads.
 */
export function slotContext(promptIds: readonly (readonly number[])[], maxNewTokens: number): number {
  const needed = Math.max(0, ...promptIds.map((ids) => ids.length)) + maxNewTokens + 1;
  return Math.ceil(needed / KV_CELL_PADDING) * KV_CELL_PADDING;
}

/** llama-server's command line: `-c` is the whole cache, which `-np` slots split evenly. */
export function llamaServerArgs(args: LlamaServerArgs): string[] {
  return [
    ...["-m", args.gguf, "--host", "127.0.0.1", "--port", String(args.port)],
    ...["-np", String(args.slots), "-c", String(args.slots * args.slotContext)],
    ...["-t", String(args.threads), "-tb", String(args.threads), "--no-webui"],
  ];
}

/**
 * The body of one request. temperature 0 is llama.cpp's greedy decoding; top_k 1 also skips the
 * sampler's top-40 sort, as the servable decodes with topK 1.
 */
export function completionRequest(promptIds: readonly number[], maxNewTokens: number) {
  return {
    prompt: promptIds,
    n_predict: maxNewTokens,
    temperature: 0,
    top_k: 1,
    ignore_eos: true,
    cache_prompt: false,
    stream: true,
  };
}

/**
 * Splits the complete events off a server-sent event buffer (LF line ends, as llama-server writes):
 * the data of each (its `data:` lines joined by newlines; comments and other fields dropped) and the
 * incomplete rest to prepend to the next chunk.
 */
export function takeSseEvents(buffer: string): { data: string[]; rest: string } {
  const blocks = buffer.split("\n\n");
  const rest = blocks.pop() ?? "";
  const data: string[] = [];
  for (const block of blocks) {
    const lines = block.split("\n").filter((line) => line.startsWith("data:"));
    if (lines.length > 0) data.push(lines.map((line) => line.slice(5).replace(/^ /, "")).join("\n"));
  }
  return { data, rest };
}

/** Parses one event's data; an `error` event or an unexpected shape throws with the server's message. */
export function parseCompletionEvent(data: string): CompletionEvent {
  const value: unknown = JSON.parse(data);
  if (typeof value === "object" && value !== null && "error" in value) {
    throw new Error(`llama-server streamed an error: ${JSON.stringify(value.error)}`);
  }
  const parsed = completionEventSchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new Error(`llama-server sent an event of the wrong shape (${issues.join("; ")})`);
  }
  return parsed.data;
}

/**
 * Timings of one completion stream from its events (see the module comment). Throws when the stream
 * did not end with a final event reporting `newTokens` predicted and `promptTokens` evaluated.
 */
export function completionTiming(
  events: readonly TimedCompletionEvent[],
  totalMs: number,
  expected: { readonly newTokens: number; readonly promptTokens: number },
): StreamTiming {
  const messages: TimedMessage[] = [];
  let predicted = 0;
  for (const { atMs, event } of events) {
    const delivered = event.tokens_predicted - predicted;
    predicted = Math.max(predicted, event.tokens_predicted);
    if (delivered <= 0) continue;
    const sample = { text: event.content, scores: [DELIVERED_TOKEN_SCORE] };
    messages.push({ atMs, samples: Array.from({ length: delivered }, () => sample) });
  }
  const last = events[events.length - 1]?.event;
  if (last?.stop !== true) throw new Error("llama-server's stream ended without its final event");
  if (last.tokens_predicted !== expected.newTokens || last.stop_type !== "limit") {
    throw new Error(
      `llama-server predicted ${last.tokens_predicted} tokens (stop_type ${last.stop_type}), ` +
        `not the ${expected.newTokens} requested`,
    );
  }
  if (last.tokens_evaluated !== expected.promptTokens) {
    throw new Error(
      `llama-server evaluated ${last.tokens_evaluated} prompt tokens, not the ${expected.promptTokens} sent`,
    );
  }
  return streamTiming(messages, totalMs);
}

/** Runs every level against its own llama-server; never rejects. */
export async function runLlamaServerPeer(
  options: LlamaServerPeerOptions,
  say: Say,
): Promise<LlamaServerOutcome> {
  for (const [what, path] of [
    ["llama-server binary", options.binary],
    ["GGUF model", options.gguf],
  ] as const) {
    if (!existsSync(path)) return { error: `the ${what} ${path} is missing` };
  }
  if (options.promptIds.length === 0) return { error: "no prompt ids to send" };
  const rows: ServingRow[] = [];
  for (const slots of options.levels) {
    say(`  starting llama-server with ${slots} slots…`);
    const row = await runLevel(options, slots).catch((err: unknown) =>
      servingRow(slots, { records: [], failures: 1, failureMessages: [messageOf(err)], elapsedMs: 0 }),
    );
    say(
      `  llama-server, ${slots} streams: ${row.tokens_per_s} tokens/s, ttft p50 ${row.ttft_ms.p50} ms, ` +
        `tpot p50 ${row.tpot_ms.p50} ms, ${row.errors} errors`,
    );
    rows.push(row);
  }
  return { rows };
}

/** An error's message, with its cause's: fetch rejects with just "fetch failed" and the reason beneath. */
function messageOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.cause === undefined ? err.message : `${err.message} (${messageOf(err.cause)})`;
}

async function runLevel(options: LlamaServerPeerOptions, slots: number): Promise<ServingRow> {
  await using server = await startLlamaServer(
    options.binary,
    {
      gguf: options.gguf,
      port: options.port ?? (await freePort()),
      slots,
      slotContext: slotContext(options.promptIds, options.maxNewTokens),
      threads: options.threads ?? cpus().length,
    },
    options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
  );
  const { promptIds, maxNewTokens, requestTimeoutMs } = options;
  const result = await runClosedLoop({
    concurrency: slots,
    durationMs: options.levelDurationMs,
    send: async (_user, seq) => {
      const ids = promptIds[seq % promptIds.length] ?? [];
      try {
        return await timedCompletion(server.url, ids, maxNewTokens, requestTimeoutMs);
      } catch (err) {
        // The load generator keeps only messages; fetch's say little without their causes.
        throw new Error(messageOf(err), { cause: err });
      }
    },
  });
  return servingRow(slots, result);
}

/** Sends one streamed completion and times its events. */
async function timedCompletion(
  url: string,
  promptIds: readonly number[],
  maxNewTokens: number,
  timeoutMs: number,
): Promise<StreamTiming> {
  const start = performance.now();
  const response = await fetch(`${url}/completion`, {
    method: "POST",
    // llama-server closes the connection after every streamed response without saying so (its chunk
    // provider reports the finished stream as a cancelled write), so a kept-alive socket would be reused
    // just as the server closes it: "other side closed". A fresh connection per request avoids the race.
    headers: { "content-type": "application/json", connection: "close" },
    body: JSON.stringify(completionRequest(promptIds, maxNewTokens)),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!response.ok || response.body === null) {
    throw new Error(`llama-server answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
  }
  const events: TimedCompletionEvent[] = [];
  let buffer = "";
  for await (const chunk of response.body.pipeThrough(new TextDecoderStream())) {
    const atMs = performance.now() - start;
    const { data, rest } = takeSseEvents(buffer + chunk);
    buffer = rest;
    for (const item of data) events.push({ atMs, event: parseCompletionEvent(item) });
  }
  const expected = { newTokens: maxNewTokens, promptTokens: promptIds.length };
  return completionTiming(events, performance.now() - start, expected);
}

/** A llama-server that answered /health; disposing stops it. */
interface LlamaServerProcess extends AsyncDisposable {
  readonly url: string;
}

/**
 * Starts llama-server and waits until /health says ok; fails with its last log lines when it exits or
 * does not get there within `startTimeoutMs`, and then stops it.
 */
async function startLlamaServer(
  binary: string,
  args: LlamaServerArgs,
  startTimeoutMs: number,
): Promise<LlamaServerProcess> {
  // forceKillAfterDelay: a server that ignores SIGTERM gets SIGKILL 5 s later.
  const child = execa(binary, llamaServerArgs(args), {
    reject: false,
    buffer: false,
    stdin: "ignore",
    all: true,
    forceKillAfterDelay: 5_000,
  });
  const log: string[] = [];
  child.all?.on("data", (chunk: Buffer) => {
    log.push(...chunk.toString().split("\n").filter(Boolean));
    log.splice(0, Math.max(0, log.length - LOG_TAIL_LINES));
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await child;
  };
  const url = `http://127.0.0.1:${args.port}`;
  const what = `llama-server to answer ${url}/health with ok (startTimeoutMs)`;
  try {
    await eventually(() => healthy(child, url), startTimeoutMs, what);
  } catch (err) {
    await stop();
    throw new Error(`${messageOf(err)}; its last log lines: ${log.join(" | ")}`);
  }
  return { url, [Symbol.asyncDispose]: stop };
}

/** `true` once /health says ok, `undefined` before; throws when the server is gone. */
async function healthy(child: ResultPromise, url: string): Promise<true | undefined> {
  if (child.pid === undefined) throw new Error(`llama-server could not be started`);
  if (child.exitCode !== null || child.signalCode !== null) {
    throw new Error(`llama-server exited with ${child.exitCode ?? child.signalCode}`);
  }
  try {
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(HEALTH_REQUEST_TIMEOUT_MS) });
    return response.ok && healthSchema.safeParse(await response.json()).success ? true : undefined;
  } catch {
    return undefined; // not listening yet, or still loading
  }
}
