/**
 * The FsRoot seam over Google Cloud Storage, for roots written `gs://bucket/dir`.
 *
 * GCS has no directories, so this follows Saxml's convention: a directory exists iff an empty object
 * `<dir>/METADATA` exists. makeDir (and writeFile, for the parents of its file) writes one marker per level
 * from the root down. Every write is a single-request upload, which replaces the object atomically, and
 * a generation is the object's GCS generation, so `ifGenerationMatch` is enforced by GCS itself and holds
 * across processes and machines.
 */
import { Storage, type Bucket } from "@google-cloud/storage";
import { z } from "zod";

import { InvalidArgumentError, SaxError, type CodeName } from "./errors.js";
import type { FsRoot, Generation, PathKind, VersionedFile, WriteOptions } from "./fs-root.js";
import { splitFsPath } from "./local-fs-root.js";

/** Options of {@link GcsFsRoot}. */
export interface GcsOptions {
  /**
   * Origin of the GCS JSON API, e.g. an emulator's `http://127.0.0.1:4443`.
   * @default the origin in `STORAGE_EMULATOR_HOST` if set, else Google's endpoint
   */
  readonly apiEndpoint?: string;
  /**
   * Google Cloud project to bill.
   * @default the project of the application default credentials
   */
  readonly projectId?: string;
}

/** Bucket and object-name prefix of a `gs://` URL. */
interface GcsLocation {
  readonly bucket: string;
  /** Object-name prefix without leading or trailing `/`; `""` for the bucket root. */
  readonly prefix: string;
}

/** Name of the empty object that marks a directory. */
const DIR_MARKER = "METADATA";
/** A file read retries when the object is replaced between its metadata and its bytes. */
const MAX_READ_ATTEMPTS = 5;
/** GCS bucket names: 3–222 characters, lower-case letters, digits, `-`, `_` and `.`. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

/**
 * Parses `gs://bucket[/dir...]`.
 *
 * @throws InvalidArgumentError when the URL is not `gs://`, lacks a valid bucket, or holds `..`.
 */
function parseGcsUrl(url: string): GcsLocation {
  const match = /^gs:\/\/([^/]*)(.*)$/.exec(url);
  const bucket = match?.[1] ?? "";
  if (!BUCKET_NAME.test(bucket)) {
    throw new InvalidArgumentError(
      `invalid gcs url ${JSON.stringify(url)}: expected gs://<bucket>[/<dir>] with a valid bucket name`,
    );
  }
  return { bucket, prefix: splitFsPath(match?.[2] ?? "").join("/") };
}

/** An {@link FsRoot} under a `gs://bucket/dir` URL. */
export class GcsFsRoot implements FsRoot {
  readonly url: string;
  readonly #bucket: Bucket;
  readonly #prefix: string;
  /** Directory object names this instance has seen marked; markers are never deleted by sax-ts. */
  readonly #knownDirs = new Set<string>();

  /** @param url `gs://bucket[/dir]`; checked here, but nothing is contacted until the first call. */
  constructor(url: string, options: GcsOptions = {}) {
    const { bucket, prefix } = parseGcsUrl(url);
    const apiEndpoint = options.apiEndpoint ?? emulatorEndpoint();
    const storage = new Storage({
      ...(apiEndpoint === undefined ? {} : { apiEndpoint }),
      ...(options.projectId === undefined ? {} : { projectId: options.projectId }),
    });
    this.url = url;
    this.#bucket = storage.bucket(bucket);
    this.#prefix = prefix;
  }

  async kindOf(fsPath: string): Promise<PathKind> {
    const name = this.#objectName(splitFsPath(fsPath));
    if (name === "") {
      const [exists] = await this.#call("inspect", "", () => this.#bucket.exists());
      return exists ? "dir" : "missing";
    }
    const [isDir, isFile] = await Promise.all([this.#exists(markerOf(name)), this.#exists(name)]);
    return isDir ? "dir" : isFile ? "file" : "missing";
  }

  async readFile(fsPath: string): Promise<VersionedFile | undefined> {
    const name = this.#fileName(fsPath);
    for (let attempt = 1; attempt <= MAX_READ_ATTEMPTS; attempt++) {
      const generation = await this.#generationOf(name);
      if (generation === undefined) return undefined;
      try {
        // Pinning the generation makes the bytes match it; a 404 means the object was just replaced.
        const [data] = await this.#bucket.file(name, { generation }).download();
        return { data: new Uint8Array(data), generation };
      } catch (err) {
        if (httpStatusOf(err) !== 404) throw gcsFailure(err, "read", this.#location(name));
      }
    }
    throw new SaxError(
      "UNAVAILABLE",
      `cannot read ${this.#location(name)}: it changed ${MAX_READ_ATTEMPTS} times while being read; retry later`,
    );
  }

  async writeFile(fsPath: string, data: Uint8Array, options: WriteOptions = {}): Promise<Generation> {
    const name = this.#fileName(fsPath);
    await this.#makeDirs(splitFsPath(fsPath).slice(0, -1));
    const expected = options.ifGenerationMatch;
    const file = this.#bucket.file(name);
    // A retried conditional upload whose first try landed but lost its reply also gets 412; GCS gives no
    // way to tell the two apart, so the caller re-reads, as after any FAILED_PRECONDITION.
    await this.#call("write", name, () =>
      file.save(Buffer.from(data.buffer, data.byteOffset, data.byteLength), {
        resumable: false,
        ...(expected === undefined ? {} : { preconditionOpts: { ifGenerationMatch: expected ?? 0 } }),
      }),
    );
    const generation = file.metadata.generation;
    if (generation === undefined) {
      throw new SaxError(
        "INTERNAL",
        `cannot write ${this.#location(name)}: gcs returned no generation; retry`,
      );
    }
    return String(generation);
  }

  async makeDir(fsPath: string): Promise<void> {
    await this.#makeDirs(splitFsPath(fsPath));
  }

  async listDirs(fsPath: string): Promise<string[]> {
    const name = this.#objectName(splitFsPath(fsPath));
    const prefix = name === "" ? "" : `${name}/`;
    const dirs: string[] = [];
    let pageToken: string | undefined;
    do {
      const query = { prefix, delimiter: "/", autoPaginate: false, ...(pageToken ? { pageToken } : {}) };
      const [, next, response] = await this.#call("list", name, () => this.#bucket.getFiles(query));
      const page = listPageSchema.parse(response ?? {});
      dirs.push(...(page.prefixes ?? []).map((p) => p.slice(prefix.length, -1)));
      pageToken = next?.pageToken;
    } while (pageToken);
    return dirs.sort();
  }

  /** Marks the root and each level of `segments` as a directory, top-down, skipping known ones. */
  async #makeDirs(segments: readonly string[]): Promise<void> {
    const levels = [...Array(segments.length + 1).keys()]
      .map((depth) => this.#objectName(segments.slice(0, depth)))
      .filter((level) => level !== "" && !this.#knownDirs.has(level));
    const inTheWay = await Promise.all(levels.map((level) => this.#exists(level)));
    const blocked = levels.find((_, i) => inTheWay[i]);
    if (blocked !== undefined) {
      throw new SaxError(
        "FAILED_PRECONDITION",
        `cannot create directory ${this.#location(blocked)}: a file is in the way; remove it or choose another path`,
      );
    }
    for (const level of levels) {
      await this.#writeMarker(level);
      this.#knownDirs.add(level);
    }
  }

  /** Writes `<dir>/METADATA` unless it exists, so existing markers keep their generation. */
  async #writeMarker(dir: string): Promise<void> {
    try {
      await this.#bucket
        .file(markerOf(dir))
        .save(Buffer.alloc(0), { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
    } catch (err) {
      if (httpStatusOf(err) !== 412) throw gcsFailure(err, "create directory", this.#location(dir));
    }
  }

  async #generationOf(name: string): Promise<string | undefined> {
    try {
      const [metadata] = await this.#bucket.file(name).getMetadata();
      return String(metadata.generation);
    } catch (err) {
      if (httpStatusOf(err) === 404) return undefined;
      throw gcsFailure(err, "read", this.#location(name));
    }
  }

  async #exists(name: string): Promise<boolean> {
    const [exists] = await this.#call("inspect", name, () => this.#bucket.file(name).exists());
    return exists;
  }

  async #call<T>(action: string, name: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (err) {
      throw gcsFailure(err, action, this.#location(name));
    }
  }

  #objectName(segments: readonly string[]): string {
    return [this.#prefix, ...segments].filter((part) => part !== "").join("/");
  }

  #fileName(fsPath: string): string {
    const segments = splitFsPath(fsPath);
    if (segments.length === 0) {
      throw new InvalidArgumentError(
        `invalid file path ${JSON.stringify(fsPath)}: it names the root directory`,
      );
    }
    return this.#objectName(segments);
  }

  #location(name: string): string {
    return `gs://${this.#bucket.name}/${name}`;
  }
}

/** The part of a list response we use: the sub-prefixes when listing with a delimiter. */
const listPageSchema = z.object({ prefixes: z.array(z.string()).optional() });

function markerOf(dir: string): string {
  return `${dir}/${DIR_MARKER}`;
}

/**
 * The origin in `STORAGE_EMULATOR_HOST`. The library sends JSON API calls to that value as given but
 * uploads to `<value>/upload/storage/v1`, so `http://host:port/storage/v1` (what fake-gcs-server needs for
 * the JSON API) only works if uploads get the bare origin as `apiEndpoint`.
 */
function emulatorEndpoint(): string | undefined {
  const host = process.env["STORAGE_EMULATOR_HOST"];
  return host ? host.replace(/\/+$/, "").replace(/\/storage\/v1$/, "") : undefined;
}

/** The HTTP status of a failed GCS call; network errors carry a string code instead. */
function httpStatusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}

function gcsFailure(err: unknown, action: string, location: string): SaxError {
  if (err instanceof SaxError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  const [code, hint] = failureOf(httpStatusOf(err));
  return new SaxError(code, `cannot ${action} ${location}: ${detail}; ${hint}`, { cause: err });
}

function failureOf(status: number | undefined): readonly [CodeName, string] {
  if (status === undefined) return ["UNAVAILABLE", "check the network and the gcs endpoint, then retry"];
  if (status === 401) return ["UNAUTHENTICATED", "check the application default credentials"];
  if (status === 403) return ["PERMISSION_DENIED", "grant the credentials access to the bucket"];
  if (status === 404) return ["NOT_FOUND", "check that the bucket exists"];
  if (status === 412) return ["FAILED_PRECONDITION", "the object changed; read it again and retry"];
  if (status === 429 || status >= 500) return ["UNAVAILABLE", "gcs is overloaded or failing; retry later"];
  return ["INTERNAL", "check the gcs url and the request"];
}
