/**
 * The FsRoot seam over a local folder (the embedded default).
 *
 * A write goes to a temp file next to its target (`<name>.<unix-nanos>.<16 hex random>`, as Saxml names
 * it), which is fsynced, renamed over the target, and then the directory is fsynced: readers see the old
 * or the new bytes, and a crash after the write resolves does not lose it.
 *
 * Compare-and-swap (`ifGenerationMatch`) checks the current generation and renames while holding a
 * per-path mutex, so writers in one process never interleave. Across processes it is best-effort: another
 * process can replace the file between the check and the rename. Cells that need cross-process CAS keep
 * their state on GCS.
 */
import { createHash, randomBytes } from "node:crypto";
import type { BigIntStats } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from "node:fs/promises";
import * as nodePath from "node:path";

import { InvalidArgumentError, SaxError, type CodeName } from "./errors.js";
import type { FsRoot, Generation, PathKind, VersionedFile, WriteOptions } from "./fs-root.js";

/** Directories are created with this mode, before the umask, like Saxml's `mkdir -p`. */
const DIR_MODE = 0o777;
/** Files are written with this mode, before the umask. */
const FILE_MODE = 0o644;

/**
 * Splits an FsRoot path into its segments. Empty and `.` segments are dropped, so a leading `/` is allowed
 * (`/sax/test` and `sax/test` name the same thing) and `""` names the root itself.
 *
 * @throws InvalidArgumentError for a `..` segment (it could escape the root) or a NUL byte.
 */
export function splitFsPath(fsPath: string): string[] {
  if (fsPath.includes("\0")) {
    throw new InvalidArgumentError(`invalid fs path ${JSON.stringify(fsPath)}: it contains a NUL byte`);
  }
  const segments = fsPath.split("/").filter((segment) => segment !== "" && segment !== ".");
  if (segments.includes("..")) {
    throw new InvalidArgumentError(
      `invalid fs path ${JSON.stringify(fsPath)}: ".." could escape the root; use a path inside the root`,
    );
  }
  return segments;
}

/** An {@link FsRoot} over a folder on a local (or locally mounted) file system. */
export class LocalFsRoot implements FsRoot {
  readonly url: string;
  /** Absolute path of the root folder. */
  readonly dir: string;

  /** @param dir the root folder; relative paths resolve against the working directory. */
  constructor(dir: string) {
    if (dir === "") throw new InvalidArgumentError("invalid fs root: the path is empty; pass a folder");
    this.url = dir;
    this.dir = nodePath.resolve(dir);
  }

  async kindOf(fsPath: string): Promise<PathKind> {
    const target = this.#resolve(fsPath);
    try {
      return (await stat(target)).isDirectory() ? "dir" : "file";
    } catch (err) {
      if (isMissing(err)) return "missing";
      throw ioFailure(err, "inspect", target);
    }
  }

  async readFile(fsPath: string): Promise<VersionedFile | undefined> {
    const target = this.#resolveFile(fsPath);
    try {
      return await readVersioned(target);
    } catch (err) {
      throw ioFailure(err, "read", target);
    }
  }

  async writeFile(fsPath: string, data: Uint8Array, options: WriteOptions = {}): Promise<Generation> {
    const target = this.#resolveFile(fsPath);
    await makeDirs(nodePath.dirname(target));
    return writeLocks.run(target, async () => {
      if (options.ifGenerationMatch !== undefined) {
        await checkGeneration(target, options.ifGenerationMatch);
      }
      return replaceFile(target, data);
    });
  }

  async makeDir(fsPath: string): Promise<void> {
    await makeDirs(this.#resolve(fsPath));
  }

  async listDirs(fsPath: string): Promise<string[]> {
    const target = this.#resolve(fsPath);
    try {
      const entries = await readdir(target, { withFileTypes: true });
      return entries
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name)
        .sort();
    } catch (err) {
      if (isMissing(err)) return [];
      throw ioFailure(err, "list", target);
    }
  }

  #resolve(fsPath: string): string {
    return nodePath.join(this.dir, ...splitFsPath(fsPath));
  }

  #resolveFile(fsPath: string): string {
    if (splitFsPath(fsPath).length === 0) {
      throw new InvalidArgumentError(`invalid file path ${JSON.stringify(fsPath)}: it names the root folder`);
    }
    return this.#resolve(fsPath);
  }
}

/** Runs tasks one at a time per key, in call order. */
class KeyedMutex {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release = (): void => {};
    const done = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => done);
    this.#tails.set(key, tail);
    await previous;
    try {
      return await task();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}

/** Shared by every LocalFsRoot of the process, so two roots over one folder still serialise. */
const writeLocks = new KeyedMutex();

/** Reads bytes and metadata through one handle, so the generation describes exactly these bytes. */
async function readVersioned(file: string): Promise<VersionedFile | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(file, "r");
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
  try {
    const stats = await handle.stat({ bigint: true });
    const data = new Uint8Array(await handle.readFile());
    return { data, generation: generationOf(stats, data) };
  } finally {
    await handle.close();
  }
}

/**
 * The generation of a local file. Every write makes a new inode with a new mtime, but file-system clocks
 * are coarse and freed inodes get reused, so the content digest is part of the token: two writes that
 * collide on mtime, inode and size also need identical bytes to look unchanged, which is then harmless.
 */
function generationOf(stats: BigIntStats, data: Uint8Array): Generation {
  const digest = createHash("sha256").update(data).digest("hex").slice(0, 16);
  return `${stats.mtimeNs}-${stats.ino}-${stats.size}-${digest}`;
}

async function checkGeneration(file: string, expected: Generation | null): Promise<void> {
  let current: VersionedFile | undefined;
  try {
    current = await readVersioned(file);
  } catch (err) {
    throw ioFailure(err, "read", file);
  }
  if (expected === null && current !== undefined) {
    throw new SaxError(
      "FAILED_PRECONDITION",
      `cannot create ${file}: it already exists; read it and retry with its generation`,
    );
  }
  if (expected !== null && current?.generation !== expected) {
    const found = current === undefined ? "it is missing" : `it is at generation ${current.generation}`;
    throw new SaxError(
      "FAILED_PRECONDITION",
      `cannot write ${file}: expected generation ${expected} but ${found}; read it again and retry`,
    );
  }
}

async function replaceFile(target: string, data: Uint8Array): Promise<Generation> {
  const unixNanos = BigInt(Date.now()) * 1_000_000n;
  const temp = `${target}.${unixNanos}.${randomBytes(8).toString("hex")}`;
  let generation: Generation;
  try {
    const handle = await open(temp, "wx", FILE_MODE);
    try {
      await handle.writeFile(data);
      await handle.sync();
      // The rename keeps inode and mtime, so this is also the generation readers of the target see.
      generation = generationOf(await handle.stat({ bigint: true }), data);
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw ioFailure(err, "write", target);
  }
  await syncDir(nodePath.dirname(target));
  return generation;
}

/** Makes a rename durable: the new directory entry survives a crash only once the directory is synced. */
async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw ioFailure(err, "sync", dir);
  }
}

async function makeDirs(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: DIR_MODE });
  } catch (err) {
    throw ioFailure(err, "create directory", dir);
  }
}

function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** ENOTDIR: a parent of the path is a file, so the path cannot exist either. */
function isMissing(err: unknown): boolean {
  const errno = errnoOf(err);
  return errno === "ENOENT" || errno === "ENOTDIR";
}

function ioFailure(err: unknown, action: string, location: string): SaxError {
  if (err instanceof SaxError) return err;
  const errno = errnoOf(err);
  const detail = err instanceof Error ? err.message : String(err);
  const [code, hint] = FAILURE_BY_ERRNO[errno ?? ""] ?? ["INTERNAL", "check the disk and the fs root"];
  return new SaxError(code, `cannot ${action} ${location}: ${detail}; ${hint}`, { cause: err });
}

/** How local I/O errors surface; anything not listed is INTERNAL. */
const FAILURE_BY_ERRNO: Readonly<Record<string, readonly [CodeName, string]>> = {
  // A file where a directory must be (or the reverse): the caller has to clear the way.
  ENOTDIR: ["FAILED_PRECONDITION", "a file is in the way; remove it or choose another path"],
  EEXIST: ["FAILED_PRECONDITION", "a file is in the way; remove it or choose another path"],
  EISDIR: ["FAILED_PRECONDITION", "a directory is in the way; remove it or choose another path"],
  EACCES: ["PERMISSION_DENIED", "check the permissions of the fs root"],
  EPERM: ["PERMISSION_DENIED", "check the permissions of the fs root"],
  EROFS: ["PERMISSION_DENIED", "the file system is read-only; use a writable fs root"],
  ENOSPC: ["RESOURCE_EXHAUSTED", "the disk is full; free some space and retry"],
  EDQUOT: ["RESOURCE_EXHAUSTED", "the disk quota is exhausted; free some space and retry"],
};
