/**
 * The consumer side of one streamed reply: chunks pushed by the channel's receive loop are buffered
 * until the caller pulls them. Buffered chunks are delivered before a failure, so a caller sees every
 * chunk the worker sent and then the error.
 */
import type { SaxError } from "../common/errors.js";
import type { Payload } from "./protocol.js";

interface Waiter {
  resolve(result: IteratorResult<Payload>): void;
  reject(err: SaxError): void;
}

/** An async iterator fed by push/end/fail; `onReturn` runs when the consumer stops early. */
export class ChunkQueue implements AsyncIterableIterator<Payload> {
  private readonly buffered: Payload[] = [];
  private finished = false;
  private failure: SaxError | undefined;
  private waiter: Waiter | undefined;

  constructor(private readonly onReturn: () => void) {}

  /** Adds a chunk (ignored once the queue finished). */
  push(body: Payload): void {
    if (this.finished) return;
    if (this.waiter) this.settle({ value: body, done: false });
    else this.buffered.push(body);
  }

  /** Marks the end of the stream. */
  end(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.waiter) this.settle({ value: undefined, done: true });
  }

  /** Fails the stream after the buffered chunks. */
  fail(err: SaxError): void {
    if (this.finished) return;
    this.finished = true;
    this.failure = err;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(err);
  }

  next(): Promise<IteratorResult<Payload>> {
    const chunk = this.buffered.shift();
    if (chunk !== undefined) return Promise.resolve({ value: chunk, done: false });
    if (this.failure) return Promise.reject(this.failure);
    if (this.finished) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  return(): Promise<IteratorResult<Payload>> {
    if (!this.finished) {
      this.finished = true;
      this.onReturn();
    }
    this.buffered.length = 0;
    this.failure = undefined;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Payload> {
    return this;
  }

  private settle(result: IteratorResult<Payload>): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve(result);
  }
}
