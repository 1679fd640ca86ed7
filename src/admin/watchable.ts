/**
 * An address set with sequence numbers, watched by long polls (Saxml's WatchLoc contract).
 *
 * State: `data` (the set after mutations [0, base)), `log` (mutations [base, next)) and `next`. Each
 * add/delete appends to the log; when the log grows past twice the set, its older half is folded into
 * `data`. A watcher at seqno `s` gets the log tail if `s` is still in the log, the full set plus the whole
 * log if `s` was folded away, and waits if nothing happened since `s`.
 */
import { SaxError } from "../common/errors.js";

/** One change to the set. */
export type Mutation = { kind: "addition"; value: string } | { kind: "deletion"; value: string };

/** What a watch returns; the client replaces its set with `values` when `hasFullset`, then applies `changelog`. */
export interface WatchUpdate {
  readonly nextSeqno: number;
  readonly hasFullset: boolean;
  readonly values: readonly string[];
  readonly changelog: readonly Mutation[];
}

/** An address set that long-poll watchers follow by sequence number. */
export class Watchable {
  private readonly data = new Set<string>();
  private log: Mutation[] = [];
  private next = 0;
  private closed = false;
  private wakers = new Set<() => void>();

  /** Records an addition (also of a present value) and wakes watchers. */
  add(value: string): void {
    this.mutate({ kind: "addition", value });
  }

  /** Records a deletion (also of an absent value) and wakes watchers. */
  delete(value: string): void {
    this.mutate({ kind: "deletion", value });
  }

  /** Ends the set (model unpublished): every watch now answers an empty full set with seqno 0. */
  close(): void {
    this.closed = true;
    this.wakeAll();
  }

  /** Current members, for status pages and tests. */
  values(): string[] {
    const set = new Set(this.data);
    for (const m of this.log) apply(set, m);
    return [...set];
  }

  /**
   * Answers a watcher at `seqno`, waiting while nothing happened past it. Rejects with the signal's reason
   * (DEADLINE_EXCEEDED / CANCELLED) if it aborts first.
   */
  async watch(seqno: number, signal?: AbortSignal): Promise<WatchUpdate> {
    for (;;) {
      const update = this.answer(seqno);
      if (update) return update;
      await this.nextChange(signal);
    }
  }

  private answer(seqno: number): WatchUpdate | undefined {
    if (this.closed) return { nextSeqno: 0, hasFullset: true, values: [], changelog: [] };
    const base = this.next - this.log.length;
    if (seqno < base) {
      return { nextSeqno: this.next, hasFullset: true, values: [...this.data], changelog: [...this.log] };
    }
    if (seqno < this.next) {
      return { nextSeqno: this.next, hasFullset: false, values: [], changelog: this.log.slice(seqno - base) };
    }
    if (seqno > this.next) return { nextSeqno: this.next, hasFullset: false, values: [], changelog: [] };
    return undefined;
  }

  private mutate(mutation: Mutation): void {
    this.log.push(mutation);
    this.next += 1;
    if (this.log.length >= 2 && this.log.length > 2 * this.data.size) {
      const folded = Math.floor(this.log.length / 2);
      for (const m of this.log.slice(0, folded)) apply(this.data, m);
      this.log = this.log.slice(folded);
    }
    this.wakeAll();
  }

  private nextChange(signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      const onAbort = () => {
        this.wakers.delete(wake);
        reject(abortReason(signal));
      };
      const wake = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      this.wakers.add(wake);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  private wakeAll(): void {
    const wakers = this.wakers;
    this.wakers = new Set();
    for (const wake of wakers) wake();
  }
}

function apply(set: Set<string>, m: Mutation): void {
  if (m.kind === "addition") set.add(m.value);
  else set.delete(m.value);
}

/** The error a wait ends with when its signal aborts. */
export function abortReason(signal: AbortSignal | undefined): SaxError {
  const reason: unknown = signal?.reason;
  return reason instanceof SaxError ? reason : new SaxError("CANCELLED", "the wait was cancelled");
}
