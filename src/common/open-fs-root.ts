/**
 * Opens the FsRoot a `--sax_root` / `--fs_root` value names: `gs://bucket/dir` on Google Cloud Storage,
 * anything else a local folder. Unlike Saxml, `/gcs/bucket/dir` is an ordinary local path here.
 */
import { InvalidArgumentError } from "./errors.js";
import type { FsRoot } from "./fs-root.js";
import type { GcsOptions } from "./gcs-fs-root.js";
import { LocalFsRoot } from "./local-fs-root.js";

/** Options of {@link openFsRoot}. */
export interface OpenFsRootOptions {
  /** Settings for `gs://` roots (an emulator endpoint, a project); unused for local roots. */
  readonly gcs?: GcsOptions;
}

/**
 * Opens the FsRoot for `url`. Nothing is touched yet: a missing folder or bucket shows up on first use.
 *
 * @throws InvalidArgumentError for an empty URL or a `gs://` URL without a valid bucket.
 */
export async function openFsRoot(url: string, options: OpenFsRootOptions = {}): Promise<FsRoot> {
  if (url.trim() === "") {
    throw new InvalidArgumentError("invalid fs root: the url is empty; pass a folder or gs://<bucket>/<dir>");
  }
  if (!url.startsWith("gs://")) return new LocalFsRoot(url);
  // Loaded on demand: the Cloud Storage client takes about half a second to import, which every local
  // cell and CLI invocation would otherwise pay.
  const { GcsFsRoot } = await import("./gcs-fs-root.js");
  return new GcsFsRoot(url, options.gcs);
}
