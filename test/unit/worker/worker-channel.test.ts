import { describe, expect, it } from "vitest";
import { SaxError } from "../../../src/common/errors.js";
import type { Payload } from "../../../src/worker/protocol.js";
import { WorkerChannel } from "../../../src/worker/worker-channel.js";
import { FakeWorkerEnd, readyChannel, silentLogger } from "./memory-transport.js";

async function collect(stream: AsyncIterable<Payload>): Promise<Payload[]> {
  const chunks: Payload[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

describe("WorkerChannel", () => {
  it("resolves ready with the worker's first message", async () => {
    const { channel } = await readyChannel();
    expect((await channel.ready).worker_id).toBe("w1");
  });

  it("matches replies to requests by id, in any order", async () => {
    const { channel, worker } = await readyChannel();
    const first = channel.call("lm.generate", { text: "a" });
    const second = channel.call("lm.generate", { text: "b" });
    worker.reply({ type: "result", id: 2, body: { n: 2 } });
    worker.reply({ type: "result", id: 1, body: { n: 1 } });
    expect(await Promise.all([first, second])).toEqual([{ n: 1 }, { n: 2 }]);
    expect(channel.inFlight).toBe(0);
  });

  it("turns an error reply into a SaxError with the worker's code", async () => {
    const { channel, worker } = await readyChannel();
    const call = channel.call("lm.score", {});
    worker.reply({ type: "error", id: 1, code: "INVALID_ARGUMENT", message: "bad suffix" });
    await expect(call).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: "bad suffix",
      method: "lm.score",
    });
  });

  it("cancels on abort: rejects with CANCELLED, tells the worker, drops the late reply", async () => {
    const { channel, worker } = await readyChannel();
    const controller = new AbortController();
    const call = channel.call("lm.generate", {}, { signal: controller.signal });
    controller.abort();
    await expect(call).rejects.toMatchObject({ code: "CANCELLED" });
    expect(await worker.sent(2)).toContainEqual({ type: "cancel", id: 1 });
    worker.reply({ type: "result", id: 1, body: { late: true } });
    const next = channel.call("lm.generate", {});
    worker.reply({ type: "result", id: 2, body: { next: true } });
    expect(await next).toEqual({ next: true });
  });

  it("does not send a request whose signal is already aborted", async () => {
    const { channel, worker } = await readyChannel();
    const call = channel.call("lm.generate", {}, { signal: AbortSignal.abort() });
    await expect(call).rejects.toMatchObject({ code: "CANCELLED" });
    expect(worker.received).toEqual([]);
  });

  it("fails a request past its deadline with DEADLINE_EXCEEDED and cancels it", async () => {
    const { channel, worker } = await readyChannel();
    const call = channel.call("lm.generate", {}, { deadlineMs: 20 });
    await expect(call).rejects.toThrow("lm.generate request 1 did not finish within its deadline of 20 ms");
    expect(worker.received.at(-1)).toEqual({ type: "cancel", id: 1 });
  });

  it("sends the deadline along with the request", async () => {
    const { channel, worker } = await readyChannel();
    void channel.call("lm.generate", { text: "x" }, { deadlineMs: 5000 }).catch(() => undefined);
    expect((await worker.sent(1))[0]).toEqual({
      type: "call",
      id: 1,
      method: "lm.generate",
      request: { text: "x" },
      deadline_ms: 5000,
    });
  });

  it("streams chunks until end", async () => {
    const { channel, worker } = await readyChannel();
    const stream = channel.stream("lm.generate_stream", {});
    worker.reply({ type: "chunk", id: 1, body: { i: 1 } });
    worker.reply({ type: "chunk", id: 1, body: { i: 2 } });
    worker.reply({ type: "end", id: 1 });
    expect(await collect(stream)).toEqual([{ i: 1 }, { i: 2 }]);
  });

  it("delivers the chunks that arrived before a stream's error, then the error", async () => {
    const { channel, worker } = await readyChannel();
    const stream = channel.stream("lm.generate_stream", {});
    worker.reply({ type: "chunk", id: 1, body: { i: 1 } });
    worker.reply({ type: "error", id: 1, code: "INTERNAL", message: "boom" });
    const chunks: Payload[] = [];
    await expect(
      (async () => {
        for await (const chunk of stream) chunks.push(chunk);
      })(),
    ).rejects.toThrow("boom");
    expect(chunks).toEqual([{ i: 1 }]);
  });

  it("cancels a stream the consumer stops reading", async () => {
    const { channel, worker } = await readyChannel();
    const stream = channel.stream("lm.generate_stream", {});
    worker.reply({ type: "chunk", id: 1, body: { i: 1 } });
    await stream.next();
    await stream.return?.();
    expect(await worker.sent(2)).toContainEqual({ type: "cancel", id: 1 });
    expect(channel.inFlight).toBe(0);
  });

  it("rejects everything pending with the reason it was closed", async () => {
    const { channel } = await readyChannel();
    const reason = new SaxError("UNAVAILABLE", "worker died");
    const call = channel.call("lm.generate", {});
    const stream = channel.stream("lm.generate_stream", {});
    channel.close(reason);
    await expect(call).rejects.toBe(reason);
    await expect(stream.next()).rejects.toBe(reason);
    await expect(channel.call("lm.generate", {})).rejects.toBe(reason);
    await expect(channel.stream("lm.generate_stream", {}).next()).rejects.toBe(reason);
  });

  it("resolves whenIdle once the last request is answered", async () => {
    const { channel, worker } = await readyChannel();
    const call = channel.call("lm.generate", {});
    let idle = false;
    const whenIdle = channel.whenIdle().then(() => (idle = true));
    await worker.sent(1);
    expect(idle).toBe(false);
    worker.reply({ type: "result", id: 1, body: {} });
    await Promise.all([call, whenIdle]);
    expect(idle).toBe(true);
  });

  it("treats a message before ready as a protocol error and closes", async () => {
    const worker = new FakeWorkerEnd();
    const errors: SaxError[] = [];
    const channel = new WorkerChannel(worker, {
      workerId: "w1",
      logger: silentLogger,
      onProtocolError: (e) => errors.push(e),
    });
    worker.reply({ type: "end", id: 1 });
    await expect(channel.ready).rejects.toThrow("worker sent end before ready");
    expect(errors).toHaveLength(1);
    expect(channel.closed).toBe(true);
  });

  it("treats an undecodable frame as a protocol error", async () => {
    const { channel, worker, errors } = await readyChannel();
    const call = channel.call("lm.generate", {});
    worker.replyRaw(new Uint8Array([0xc1]));
    await expect(call).rejects.toMatchObject({ code: "INTERNAL" });
    expect(errors[0]?.message).toMatch(/^undecodable worker message/);
  });

  it("records the worker's fatal message", async () => {
    const { channel, worker } = await readyChannel();
    worker.reply({ type: "fatal", message: "device lost" });
    await worker.sent(0);
    await new Promise((r) => setTimeout(r, 5));
    expect(channel.fatalMessage).toBe("device lost");
  });
});
