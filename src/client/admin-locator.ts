/**
 * Where a cell's admin is: the address in `<sax_root>/sax/<cell>/location.proto`, read on first use and
 * again after the cached address was poisoned (an RPC to it answered UNAVAILABLE). That is how clients
 * follow an admin that restarted elsewhere: the new admin rewrote the file at start.
 */
import { readLocation } from "../common/cell-layout.js";
import type { FsRoot } from "../common/fs-root.js";
import type { CellId } from "../common/naming.js";

/** The cached admin address of one cell. */
export class AdminLocator {
  private known: string | undefined;
  /** One read at a time: concurrent callers share it. */
  private reading: Promise<string> | undefined;

  constructor(
    readonly cell: CellId,
    private readonly saxRoot: () => Promise<FsRoot>,
  ) {}

  /** The admin's `host:port`, from the cache or location.proto (FAILED_PRECONDITION if none is set). */
  async address(): Promise<string> {
    if (this.known !== undefined) return this.known;
    this.reading ??= this.read().finally(() => (this.reading = undefined));
    return this.reading;
  }

  /** Forgets `address` if it is the cached one, so that the next call re-reads location.proto. */
  poison(address: string): void {
    if (this.known === address) this.known = undefined;
  }

  private async read(): Promise<string> {
    const address = await readLocation(await this.saxRoot(), this.cell);
    this.known = address;
    return address;
  }
}
