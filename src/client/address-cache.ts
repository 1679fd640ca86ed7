/**
 * Where a data call goes: an {@link AddressSource} per model. Normally a {@link WatchedAddresses}, an
 * {@link AddressSet} kept fresh by a background WatchLoc loop started on the model's first call and
 * stopped with the client; with a proxy, a {@link FixedAddress}.
 *
 * A watch that fails for good (the model is not published: NOT_FOUND; the cell has no admin) fails the
 * calls waiting on it and reports itself failed, so the client starts a fresh watch on the next call.
 */
import { toSaxError, type SaxError } from "../common/errors.js";
import { AddressSet } from "./address-set.js";
import type { AdminRpc } from "./admin-rpc.js";
import { CallScope } from "./call-scope.js";
import { watchLoc } from "./watch-loc.js";

/** Replica addresses of one model, for data calls. */
export interface AddressSource {
  /**
   * The address for the next attempt, waiting (until `signal` aborts) while none is known. A failure
   * from here is final for the call: the model cannot be located.
   */
  pick(signal: AbortSignal): Promise<string>;
  /** Reports that `address` answered UNAVAILABLE, so that other replicas are preferred for a while. */
  drop(address: string): void;
}

/** Every call goes to one address (a proxy). */
export class FixedAddress implements AddressSource {
  constructor(private readonly address: string) {}

  pick(): Promise<string> {
    return Promise.resolve(this.address);
  }

  drop(): void {}
}

/** The address set of a model, watched through its cell's admin. */
export class WatchedAddresses implements AddressSource {
  private readonly set = new AddressSet();
  private readonly scope: CallScope;
  private failure: SaxError | undefined;
  private waiters = new Set<() => void>();
  /** Settles when the background loop has ended. */
  readonly done: Promise<void>;

  /**
   * Starts watching `modelId`.
   * @param onFailed called once if the watch fails for good
   */
  constructor(
    rpc: AdminRpc,
    readonly modelId: string,
    closed: AbortSignal,
    private readonly onFailed: (failure: SaxError) => void,
  ) {
    this.scope = new CallScope({}, closed, `watching the addresses of ${modelId}`);
    this.done = this.run(rpc);
  }

  /** The watch failed for good; this source only repeats the failure. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** The addresses known now, sorted. */
  addresses(): readonly string[] {
    return this.set.values();
  }

  async pick(signal: AbortSignal): Promise<string> {
    for (;;) {
      if (this.failure) throw this.failure;
      const address = this.set.pick();
      if (address !== undefined) return address;
      if (signal.aborted || this.scope.signal.aborted) throw this.scope.failure();
      await this.changed(signal);
    }
  }

  drop(address: string): void {
    this.set.drop(address);
  }

  /** Stops the background loop. */
  stop(): void {
    this.scope.cancel();
    this.scope.close();
    this.wake();
  }

  private async run(rpc: AdminRpc): Promise<void> {
    try {
      for await (const step of watchLoc(rpc, this.modelId, this.scope)) {
        this.set.apply(step);
        this.wake();
      }
    } catch (err) {
      if (this.scope.signal.aborted) return;
      this.failure = toSaxError(err, "UNKNOWN");
      this.scope.close();
      this.wake();
      this.onFailed(this.failure);
    }
  }

  /** Resolves on the next change of the set, on failure, or when `signal` aborts. */
  private changed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.waiters.delete(done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      this.waiters.add(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = new Set();
    waiters.forEach((wake) => wake());
  }
}
