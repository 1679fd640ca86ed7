import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LmClient } from "../../src/client/index.js";
import { ModeletDefinition } from "../../src/gen/sax/modelet.js";
import { unaryClient } from "../../src/grpc/client.js";
import { rejection } from "../helpers/sax-error.js";
import { CELL, echoSpec, startClientCell, type ClientCell } from "../helpers/client-cell.js";

const ID = "/sax/test/echo";

/** A slow echo: the Python servable sleeps this long before each chunk (and before a unary answer). */
const slow = (delayMs: number) => ({ extraInputs: { items: { delay_ms: delayMs } } });

describe("the LM facet against a cell serving saxts.test.Echo in Python workers", () => {
  let cell: ClientCell;
  let lm: LmClient;
  beforeAll(async () => {
    cell = await startClientCell({ python: true });
    await cell.sax.admin(CELL).publish(echoSpec(ID));
    lm = cell.sax.model(ID).lm;
    // Made right after publish: retried (NOT_FOUND, no address yet) until the worker has loaded the model.
    await lm.generate("warm up", { timeoutMs: 60_000 });
  }, 90_000);
  afterAll(() => cell?.[Symbol.asyncDispose]());

  it("generates, scores and embeds", async () => {
    expect(await lm.generate("hello cell")).toEqual([{ text: "LLEC OLLEH", score: -1 }]);
    expect(await lm.score("ab", ["c", "dd"])).toEqual([-0.75, -1]);
    const embedding = await lm.embed("abc");
    expect(embedding).toHaveLength(8);
    expect(embedding.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(await lm.embed("abc")).toEqual(embedding);
  });

  it("streams one message per word with growing prefix lengths", async () => {
    const messages = [];
    for await (const samples of lm.generateStream("one two three", { timeoutMs: 10_000 }))
      messages.push(samples);
    expect(messages).toEqual([
      [{ text: "ONE", prefixLen: 0, scores: [-0.5] }],
      [{ text: " TWO", prefixLen: 3, scores: [-1] }],
      [{ text: " THREE", prefixLen: 7, scores: [-1.5] }],
    ]);
  });

  it("passes extra inputs to the servable", async () => {
    const fail = { extraInputs: { strings: { fail: "PERMISSION_DENIED" } } };
    await expect(lm.generate("x", fail)).rejects.toMatchObject({ code: "PERMISSION_DENIED" });
    const err = await rejection(lm.generate("x", { extraInputs: { items: { bogus: 1 } } }));
    expect(err.code).toBe("INVALID_ARGUMENT");
    expect(err.message).toMatch(/undeclared keys \['bogus'\]/);
  });

  it("ends a stream with DEADLINE_EXCEEDED when its deadline passes between messages", async () => {
    const messages: unknown[] = [];
    const streaming = (async () => {
      for await (const m of lm.generateStream("a b c d e f", { ...slow(200), timeoutMs: 500 }))
        messages.push(m);
    })();
    await expect(streaming).rejects.toMatchObject({ code: "DEADLINE_EXCEEDED" });
    expect(messages.length).toBeGreaterThan(0);
    expect(messages.length).toBeLessThan(6);
  });

  it("cancels the stream's work in the worker when the caller aborts", async () => {
    const text = Array.from({ length: 40 }, (_, i) => `w${i}`).join(" ");
    const controller = new AbortController();
    const streaming = (async () => {
      const stream = lm.generateStream(text, { ...slow(500), signal: controller.signal });
      for await (const samples of stream) expect(samples).toHaveLength(1);
    })();
    // While the stream runs, the single-threaded worker sleeps 500 ms per chunk between other requests.
    await expect.poll(() => pendingStreams(cell), { timeout: 5000 }).toBe(1);
    expect(await timeToGenerate(lm)).toBeGreaterThanOrEqual(400);
    controller.abort();
    await expect(streaming).rejects.toMatchObject({ code: "CANCELLED" });
    // The model server ended the call, and once the worker saw the cancel it stopped sleeping.
    expect(await pendingStreams(cell)).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(await timeToGenerate(lm)).toBeLessThan(250);
  });
});

/** Milliseconds an instant generate call takes. */
async function timeToGenerate(lm: LmClient): Promise<number> {
  const started = Date.now();
  await lm.generate("ping", { timeoutMs: 5000 });
  return Date.now() - started;
}

/** lm.generate_stream requests in flight on the cell's model server. */
async function pendingStreams(cell: ClientCell): Promise<number> {
  const modelet = unaryClient(ModeletDefinition, cell.servers[0]!.address);
  try {
    const { models } = await modelet.getStatus({ includeMethodStats: true });
    const model = models.find((m) => m.modelKey === ID);
    return model?.methodStats.find((s) => s.method === "lm.generate_stream")?.pendingReqs ?? 0;
  } finally {
    modelet.close();
  }
}
