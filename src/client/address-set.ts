/**
 * A model's replica addresses as the client knows them, and the choice of one for the next call. Pure
 * logic: the WatchLoc loop feeds it (address-cache.ts), data calls pick from it.
 *
 * Choice is round robin over the sorted set from a random start, so that calls of one process spread
 * evenly and processes do not all start on the same replica. An address that just failed with
 * UNAVAILABLE is skipped for a short while (it may be gone; the admin will tell) unless every address is
 * in that state.
 */
import type { WatchStep } from "./watch-loc.js";

/** How long an address that answered UNAVAILABLE is avoided. */
export const DROP_MS = 5_000;

/** The watched addresses of one model plus the state of the round robin. */
export class AddressSet {
  private readonly addresses = new Set<string>();
  private sorted: string[] = [];
  /** Address → time until which it is avoided. */
  private readonly dropped = new Map<string, number>();
  /** Where the round robin starts, as a fraction of the set. */
  private readonly start: number;
  /** Picks so far, advanced past skipped addresses. */
  private turn = 0;

  constructor(
    private readonly now: () => number = Date.now,
    random: () => number = Math.random,
  ) {
    this.start = random();
  }

  /** Applies one WatchLoc answer: a full set or a from-scratch answer replaces, then changes apply. */
  apply({ update, fromScratch }: WatchStep): void {
    if (update.fullSet !== undefined || fromScratch) this.addresses.clear();
    for (const address of update.fullSet ?? []) this.addresses.add(address);
    for (const change of update.changes) {
      if (change.kind === "add") this.addresses.add(change.address);
      else this.addresses.delete(change.address);
    }
    this.sorted = [...this.addresses].sort();
    for (const address of this.dropped.keys()) if (!this.addresses.has(address)) this.dropped.delete(address);
  }

  /** The current addresses, sorted. */
  values(): readonly string[] {
    return this.sorted;
  }

  get size(): number {
    return this.sorted.length;
  }

  /** The next address in turn, skipping dropped ones while others remain; `undefined` if empty. */
  pick(): string | undefined {
    const count = this.sorted.length;
    if (count === 0) return undefined;
    const nowMs = this.now();
    const base = Math.floor(this.start * count) + this.turn;
    for (let i = 0; i < count; i++) {
      const address = this.sorted[(base + i) % count];
      if (address !== undefined && (this.dropped.get(address) ?? 0) <= nowMs) {
        this.turn = (this.turn + i + 1) % count;
        return address;
      }
    }
    this.turn = (this.turn + 1) % count;
    return this.sorted[base % count];
  }

  /** Avoids `address` for {@link DROP_MS} (it answered UNAVAILABLE). */
  drop(address: string): void {
    if (this.addresses.has(address)) this.dropped.set(address, this.now() + DROP_MS);
  }
}
