/**
 * An in-memory Transport and a scripted fake worker on its other end, for testing WorkerChannel
 * without processes or sockets.
 */
import type { SaxError } from "../../../src/common/errors.js";
import type { Logger } from "../../../src/common/log.js";
import {
  decodeMessage,
  encodeMessage,
  type SupervisorMessage,
  type WireMessage,
} from "../../../src/worker/protocol.js";
import type { Transport } from "../../../src/worker/transport.js";
import { WorkerChannel } from "../../../src/worker/worker-channel.js";

/** A logger that drops everything. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** The worker end: what the channel sent, and a way to answer. */
export class FakeWorkerEnd implements Transport {
  /** Decoded messages the channel sent, in order. */
  readonly received: SupervisorMessage[] = [];
  private readonly inbox: Uint8Array[] = [];
  private wake: (() => void) | undefined;
  private closed = false;

  send(frame: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new Error("transport closed"));
    this.received.push(decodeMessage(frame) as SupervisorMessage);
    return Promise.resolve();
  }

  async *frames(): AsyncIterable<Uint8Array> {
    while (!this.closed) {
      const frame = this.inbox.shift();
      if (frame) yield frame;
      else await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  close(): void {
    this.closed = true;
    this.wake?.();
  }

  /** Sends `message` to the channel as the worker would. */
  reply(message: WireMessage): void {
    this.replyRaw(encodeMessage(message));
  }

  /** Sends arbitrary bytes to the channel. */
  replyRaw(frame: Uint8Array): void {
    this.inbox.push(frame);
    this.wake?.();
  }

  /** Resolves once the channel has sent `count` messages in all. */
  async sent(count: number): Promise<SupervisorMessage[]> {
    for (let i = 0; i < 100 && this.received.length < count; i++) await new Promise((r) => setTimeout(r, 1));
    return this.received;
  }
}

/** A channel wired to a fake worker that has already said READY. */
export async function readyChannel(): Promise<{
  channel: WorkerChannel;
  worker: FakeWorkerEnd;
  errors: SaxError[];
}> {
  const worker = new FakeWorkerEnd();
  const errors: SaxError[] = [];
  const channel = new WorkerChannel(worker, {
    workerId: "w1",
    logger: silentLogger,
    onProtocolError: (err) => errors.push(err),
  });
  worker.reply({
    type: "ready",
    version: "1.0",
    pid: 1,
    worker_id: "w1",
    capabilities: { frameworks: [], kinds: ["echo"] },
  });
  await channel.ready;
  return { channel, worker, errors };
}
