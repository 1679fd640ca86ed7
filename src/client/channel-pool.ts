/**
 * gRPC channels shared by every call of a client, one per address. Channels are leased: a channel
 * retired while calls still use it (its address answered UNAVAILABLE) is closed when the last of them
 * releases it, so closing never breaks a call in flight; the next lease opens a fresh channel. Channels
 * left unused for a while are closed by a sweep.
 */
import type { Client } from "@grpc/grpc-js";
import { openChannel } from "../grpc/client.js";

/** A channel borrowed for one attempt; `release()` it when the attempt is over. */
export interface ChannelLease {
  readonly address: string;
  readonly channel: Client;
  release(): void;
}

interface Entry {
  readonly channel: Client;
  refs: number;
  retired: boolean;
  lastUsedMs: number;
}

/** How long an unused channel stays open. */
const IDLE_CLOSE_MS = 5 * 60_000;
const SWEEP_INTERVAL_MS = 30_000;

/** Leased channels by address. */
export class ChannelPool {
  private readonly current = new Map<string, Entry>();
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly idleCloseMs = IDLE_CLOSE_MS) {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  /** Borrows the channel to `address`, opening one if needed. */
  acquire(address: string): ChannelLease {
    let entry = this.current.get(address);
    if (!entry) {
      entry = { channel: openChannel(address), refs: 0, retired: false, lastUsedMs: Date.now() };
      if (!this.closed) this.current.set(address, entry);
      else entry.retired = true;
    }
    const held = entry;
    held.refs += 1;
    let released = false;
    return {
      address,
      channel: held.channel,
      release: () => {
        if (released) return;
        released = true;
        held.refs -= 1;
        held.lastUsedMs = Date.now();
        if (held.retired && held.refs === 0) held.channel.close();
      },
    };
  }

  /** Stops handing out `lease`'s channel: later leases of its address get a fresh one. */
  retire(lease: ChannelLease): void {
    const entry = this.current.get(lease.address);
    if (!entry || entry.channel !== lease.channel) return;
    this.current.delete(lease.address);
    entry.retired = true;
    if (entry.refs === 0) entry.channel.close();
  }

  /** Number of open, non-retired channels (for tests and debugging). */
  get size(): number {
    return this.current.size;
  }

  /** Closes every channel now, in use or not, and stops the sweep. */
  close(): void {
    this.closed = true;
    clearInterval(this.sweeper);
    for (const entry of this.current.values()) entry.channel.close();
    this.current.clear();
  }

  private sweep(): void {
    const cutoff = Date.now() - this.idleCloseMs;
    for (const [address, entry] of this.current) {
      if (entry.refs === 0 && entry.lastUsedMs < cutoff) {
        this.current.delete(address);
        entry.channel.close();
      }
    }
  }
}
