import { afterEach, describe, expect, it } from "vitest";
import { ModeletDefinition } from "../../src/gen/sax/modelet.js";
import { unaryClient } from "../../src/grpc/client.js";
import { rejection } from "../helpers/sax-error.js";
import { CELL, echoSpec, startClientCell, type ClientCell } from "../helpers/client-cell.js";

const ID = "/sax/test/echo";

/** How many lm.generate calls a model server answered for ID. */
async function generateCalls(address: string): Promise<number> {
  const modelet = unaryClient(ModeletDefinition, address);
  try {
    const { models } = await modelet.getStatus({ includeMethodStats: true });
    const stats = models.find((m) => m.modelKey === ID)?.methodStats.find((s) => s.method === "lm.generate");
    return Math.round((stats?.successesPerSecond ?? 0) * 60);
  } finally {
    modelet.close();
  }
}

describe("data calls through the address cache", () => {
  let cell: ClientCell;
  afterEach(() => cell[Symbol.asyncDispose]());

  it("succeeds when made right after publish, once the model has loaded", async () => {
    cell = await startClientCell();
    cell.loader.loadDelayMs = 500;
    const started = Date.now();
    await cell.sax.admin(CELL).publish(echoSpec(ID));
    const texts = await cell.sax.model(ID).lm.generate("hello", { timeoutMs: 10_000 });
    expect(texts).toEqual([{ text: "HELLO", score: -1.5 }]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
  });

  it("fails with DEADLINE_EXCEEDED when the model does not load within the deadline", async () => {
    cell = await startClientCell();
    cell.loader.loadDelayMs = 1200;
    await cell.sax.admin(CELL).publish(echoSpec(ID));
    const started = Date.now();
    const err = await rejection(cell.sax.model(ID).lm.generate("hello", { timeoutMs: 400 }));
    expect(err.code).toBe("DEADLINE_EXCEEDED");
    expect(err.message).toMatch(/^lm.generate on \/sax\/test\/echo did not complete within timeoutMs=400/);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("fails with NOT_FOUND at once for a model that is not published", async () => {
    cell = await startClientCell();
    await expect(
      cell.sax.model("/sax/test/none").lm.generate("x", { timeoutMs: 5000 }),
    ).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
  });

  it("spreads calls over the replicas and avoids one that went away", async () => {
    cell = await startClientCell({ servers: 2 });
    await cell.sax.admin(CELL).publish(echoSpec(ID, 2));
    await cell.sax.admin(CELL).waitForReady(ID, 2, { timeoutMs: 10_000 });
    const lm = cell.sax.model(ID).lm;
    // The watch may still be learning of the second replica: wait until it has.
    await expect
      .poll(() =>
        cell.sax
          .admin(CELL)
          .list(ID)
          .then((m) => m.modeletAddresses.length),
      )
      .toBe(2);
    for (let i = 0; i < 10; i++) await lm.generate(`call ${i}`, { timeoutMs: 5000 });
    const [first, second] = cell.servers;
    const counts = await Promise.all([generateCalls(first!.address), generateCalls(second!.address)]);
    expect(counts.reduce((a, b) => a + b)).toBe(10);
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(4);
    await first!.close();
    for (let i = 0; i < 6; i++) {
      expect(await lm.generate("still", { timeoutMs: 5000 })).toEqual([{ text: "STILL", score: -1.5 }]);
    }
  });

  it("streams generateStream messages, one entry per sample", async () => {
    cell = await startClientCell();
    await cell.sax.admin(CELL).publish(echoSpec(ID));
    const messages = [];
    for await (const samples of cell.sax.model(ID).lm.generateStream("a bb", { timeoutMs: 10_000 })) {
      messages.push(samples);
    }
    expect(messages).toEqual([
      [{ text: "a ", prefixLen: 0, scores: [-0.5] }],
      [{ text: "bb ", prefixLen: 2, scores: [-0.5] }],
    ]);
  });

  it("routes vision calls to the model, which answers INVALID_ARGUMENT for methods it lacks", async () => {
    cell = await startClientCell();
    await cell.sax.admin(CELL).publish(echoSpec(ID));
    const model = cell.sax.model(ID);
    const image = new Uint8Array([137, 80, 78, 71]);
    const err = await rejection(model.vm.classify(image, { timeoutMs: 10_000 }));
    expect(err.code).toBe("INVALID_ARGUMENT");
    expect(err.message).toBe(`${ID} does not support vm.classify`);
    await expect(model.vm.detect(image, { text: ["cat"] })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    await expect(model.lm.gradient("a", "b")).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("cancels a waiting call when its signal aborts", async () => {
    cell = await startClientCell();
    cell.loader.loadDelayMs = 1200;
    await cell.sax.admin(CELL).publish(echoSpec(ID));
    const call = cell.sax.model(ID).lm.generate("x", { signal: AbortSignal.timeout(200) });
    await expect(call).rejects.toMatchObject({ code: "CANCELLED" });
  });

  it("fails calls in flight with CANCELLED when the client closes", async () => {
    cell = await startClientCell();
    cell.loader.loadDelayMs = 1200;
    await cell.sax.admin(CELL).publish(echoSpec(ID));
    const call = cell.sax.model(ID).lm.generate("x");
    setTimeout(() => void cell.sax.close(), 100);
    const err = await rejection(call);
    expect(err.code).toBe("CANCELLED");
    expect(err.message).toMatch(/the Sax client is closed/);
  });
});
