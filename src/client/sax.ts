/**
 * The client: one per process is typical. It owns what calls share: the channel pool, one admin locator
 * per cell (location.proto, followed across admin moves), and one address cache per model whose
 * background WatchLoc loop starts with the model's first data call. `close()` stops the loops, cancels
 * calls in flight and closes every channel.
 */
import { InvalidArgumentError, SaxError } from "../common/errors.js";
import type { FsRoot } from "../common/fs-root.js";
import { parseCellId, parseModelId } from "../common/naming.js";
import { openFsRoot } from "../common/open-fs-root.js";
import { FixedAddress, WatchedAddresses, type AddressSource } from "./address-cache.js";
import { SaxAdmin } from "./admin.js";
import { AdminLocator } from "./admin-locator.js";
import { AdminRpc } from "./admin-rpc.js";
import { ChannelPool } from "./channel-pool.js";
import { DataCaller } from "./data-caller.js";
import { clientCloser } from "./call-scope.js";
import { SaxModel } from "./model.js";
import { resolveRetryPolicy, type ResolvedRetryPolicy } from "./retry.js";
import type { ModelOptions, SaxClientOptions } from "./types.js";

/** A client of Sax cells. */
export class Sax {
  private readonly saxRootUrl: string | undefined;
  private saxRoot: Promise<FsRoot> | undefined;
  private readonly policy: ResolvedRetryPolicy;
  private readonly pool = new ChannelPool();
  private readonly closer = clientCloser();
  private readonly rpcs = new Map<string, AdminRpc>();
  private readonly admins = new Map<string, SaxAdmin>();
  private readonly watched = new Map<string, WatchedAddresses>();
  private readonly models = new Map<string, SaxModel>();

  /**
   * Nothing is read or dialed yet. A missing sax root (neither `options.saxRoot` nor `SAX_ROOT`) fails
   * the first call that needs it with INVALID_ARGUMENT; calls through a proxy do not need one.
   *
   * @throws InvalidArgumentError for a bad retry policy
   */
  constructor(options: SaxClientOptions = {}) {
    const root = options.saxRoot ?? process.env.SAX_ROOT;
    this.saxRootUrl = root === "" ? undefined : root;
    this.policy = resolveRetryPolicy(options.retry);
  }

  /** The admin facet of a cell such as `/sax/test` (INVALID_ARGUMENT for a malformed id). */
  admin(cell: string): SaxAdmin {
    const id = parseCellId(cell);
    let admin = this.admins.get(id.full);
    if (!admin) {
      admin = new SaxAdmin(id, this.rpcOf(id.full), () => this.openSaxRoot(), this.closer.signal);
      this.admins.set(id.full, admin);
    }
    return admin;
  }

  /** A model such as `/sax/test/lm` (INVALID_ARGUMENT for a malformed id); cheap, nothing is dialed. */
  model(modelId: string, options: ModelOptions = {}): SaxModel {
    const id = parseModelId(modelId);
    const key = options.proxyAddress === undefined ? id.full : `${id.full}@${options.proxyAddress}`;
    let model = this.models.get(key);
    if (!model) {
      const proxy = options.proxyAddress === undefined ? undefined : new FixedAddress(options.proxyAddress);
      const caller = new DataCaller(id.full, {
        source: () => proxy ?? this.addressesOf(id.full),
        pool: this.pool,
        policy: this.policy,
        closed: this.closer.signal,
      });
      model = new SaxModel(caller);
      this.models.set(key, model);
    }
    return model;
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.closer.signal.aborted;
  }

  /** Stops the background watches, cancels calls in flight (CANCELLED) and closes every channel. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closer.abort();
    const loops = [...this.watched.values()].map((source) => {
      source.stop();
      return source.done;
    });
    this.watched.clear();
    await Promise.all(loops);
    this.pool.close();
  }

  /** The model's watched address set, started (again, if the last watch failed) on demand. */
  private addressesOf(modelId: string): AddressSource {
    if (this.closed) throw new SaxError("CANCELLED", `cannot call ${modelId}: the Sax client is closed`);
    const current = this.watched.get(modelId);
    if (current && !current.failed) return current;
    const cell = parseModelId(modelId).cell.full;
    const source = new WatchedAddresses(this.rpcOf(cell), modelId, this.closer.signal, () =>
      this.forget(modelId, source),
    );
    this.watched.set(modelId, source);
    return source;
  }

  private forget(modelId: string, source: WatchedAddresses): void {
    if (this.watched.get(modelId) === source) this.watched.delete(modelId);
  }

  private rpcOf(cell: string): AdminRpc {
    let rpc = this.rpcs.get(cell);
    if (!rpc) {
      const locator = new AdminLocator(parseCellId(cell), () => this.openSaxRoot());
      rpc = new AdminRpc(locator, this.pool, this.policy, this.closer.signal);
      this.rpcs.set(cell, rpc);
    }
    return rpc;
  }

  private openSaxRoot(): Promise<FsRoot> {
    const url = this.saxRootUrl;
    if (url === undefined) {
      return Promise.reject(
        new InvalidArgumentError(
          "no sax root: pass SaxClientOptions.saxRoot or set the SAX_ROOT environment variable",
        ),
      );
    }
    this.saxRoot ??= openFsRoot(url).catch((err: unknown) => {
      this.saxRoot = undefined;
      throw err;
    });
    return this.saxRoot;
  }
}
