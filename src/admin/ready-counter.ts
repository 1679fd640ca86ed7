/**
 * Per-model count of replicas whose load succeeded, with waiters (WaitForReady).
 */
import type { SaxError } from "../common/errors.js";
import { abortReason } from "./watchable.js";

interface Waiter {
  readonly threshold: number;
  readonly resolve: () => void;
  readonly reject: (err: SaxError) => void;
}

/** A counter that releases waiters once it reaches their threshold. */
export class ReadyCounter {
  private count = 0;
  private closedWith: SaxError | undefined;
  private waiters = new Set<Waiter>();

  /** Current number of ready replicas. */
  get value(): number {
    return this.count;
  }

  /** Adds `delta` (negative to remove) and releases satisfied waiters. */
  add(delta: number): void {
    this.count += delta;
    for (const w of this.waiters) {
      if (this.count >= w.threshold) {
        this.waiters.delete(w);
        w.resolve();
      }
    }
  }

  /** Fails every current and future waiter with `error` (the model was unpublished). */
  close(error: SaxError): void {
    this.closedWith = error;
    for (const w of this.waiters) w.reject(error);
    this.waiters.clear();
  }

  /** Resolves once the count is at least `threshold`; rejects on close or when `signal` aborts. */
  waitFor(threshold: number, signal?: AbortSignal): Promise<void> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (this.count >= threshold) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.waiters.delete(waiter);
        reject(abortReason(signal));
      };
      const waiter: Waiter = {
        threshold,
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        reject: (err) => {
          signal?.removeEventListener("abort", onAbort);
          reject(err);
        },
      };
      this.waiters.add(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}
