/**
 * Persists the published models to `<fs_root>/sax/<cell>/state.proto` (binary `State`, as Saxml).
 *
 * Every change is saved before it is acknowledged. Saves are serialised; saves requested while one is
 * being written coalesce into the next write, which takes the newest snapshot. Each write is conditional
 * on the generation this admin last read or wrote, so an admin whose state was overwritten by another
 * admin of the same cell fails (FAILED_PRECONDITION) instead of silently clobbering it.
 */
import { cellDir, decodeOrThrow, statePath } from "../common/cell-layout.js";
import type { FsRoot, Generation } from "../common/fs-root.js";
import type { CellId } from "../common/naming.js";
import { State, type Model } from "../gen/sax/admin.js";

/** Loads and saves a cell's published models. */
export class StateStore {
  private generation: Generation | null = null;
  private writing: Promise<void> = Promise.resolve();
  private queued: Promise<void> | undefined;

  constructor(
    private readonly fsRoot: FsRoot,
    private readonly cell: CellId,
  ) {}

  /** Where the state lives, for messages. */
  get location(): string {
    return `${this.fsRoot.url.replace(/\/+$/, "")}/${statePath(this.cell)}`;
  }

  /** Reads the saved models ([] on a first run) and remembers the file's generation. */
  async load(): Promise<Model[]> {
    await this.fsRoot.makeDir(cellDir(this.cell));
    const file = await this.fsRoot.readFile(statePath(this.cell));
    if (!file) return [];
    this.generation = file.generation;
    return decodeOrThrow(() => State.decode(file.data), `state at ${this.location}`).models;
  }

  /**
   * Writes the snapshot `snapshot()` returns at write time; resolves once a write that started after this
   * call is durable.
   */
  save(snapshot: () => Model[]): Promise<void> {
    if (this.queued) return this.queued;
    const next = this.writing.then(async () => {
      this.queued = undefined;
      const data = State.encode({ models: snapshot(), lastGeneration: 0 }).finish();
      this.generation = await this.fsRoot.writeFile(statePath(this.cell), data, {
        ifGenerationMatch: this.generation,
      });
    });
    this.queued = next;
    this.writing = next.catch(() => undefined);
    return next;
  }
}
