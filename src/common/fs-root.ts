/**
 * The file-system root seam: where a cell's config, location and state files live. Two implementations:
 * local folders (the embedded default) and `gs://bucket/dir` on Google Cloud Storage.
 *
 * Paths given to an FsRoot are relative to it and use `/` separators (`sax/test/state.proto`).
 */

/** What a path names. */
export type PathKind = "file" | "dir" | "missing";

/**
 * Opaque version of a stored file: a GCS object generation, or a token derived from the local file.
 * Two reads of an unchanged file give the same generation.
 */
export type Generation = string;

/** A file's bytes with the generation they were read at. */
export interface VersionedFile {
  readonly data: Uint8Array;
  readonly generation: Generation;
}

/** Options of {@link FsRoot.writeFile}. */
export interface WriteOptions {
  /**
   * Compare-and-swap: write only if the file is still at this generation; `null` means "only if the file
   * does not exist". On mismatch the write fails with FAILED_PRECONDITION and changes nothing.
   */
  readonly ifGenerationMatch?: Generation | null;
}

/** A directory tree holding Sax cell files. */
export interface FsRoot {
  /** The root as the user wrote it, e.g. `/var/sax` or `gs://bucket/sax`. */
  readonly url: string;
  /** Whether `path` is a file, a directory, or nothing. */
  kindOf(path: string): Promise<PathKind>;
  /** Reads a file; `undefined` if it does not exist. */
  readFile(path: string): Promise<VersionedFile | undefined>;
  /**
   * Replaces a file atomically (readers see the old or the new bytes, never a mix) and durably (once this
   * resolves, a crash does not lose the write). Parent directories are created. Returns the new generation.
   */
  writeFile(path: string, data: Uint8Array, options?: WriteOptions): Promise<Generation>;
  /** Creates a directory and its parents; no-op if it exists. Fails if a file is in the way. */
  makeDir(path: string): Promise<void>;
  /** Names of the sub-directories of `path`, sorted; empty if `path` does not exist. */
  listDirs(path: string): Promise<string[]>;
}
