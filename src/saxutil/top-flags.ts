/**
 * saxutil's top-level flags, given before the subcommand: Saxml's `--sax_root` and `--sax_timeout`,
 * our `--json` and `--verbose`, and the glog flags of the original binary, accepted so that existing
 * scripts keep working but otherwise ignored.
 */
import { boolFlag, durationFlag, ignoredFlag, stringFlag } from "./go-flags.js";

/** `--sax_timeout` when not given. */
export const DEFAULT_TIMEOUT_MS = 60_000;

const IGNORED = "Accepted for compatibility with Saxml's saxutil; ignored.";

/** The top-level flag set. */
export const TOP_LEVEL_FLAGS = {
  sax_root: stringFlag(
    "",
    "Folder or gs://bucket/dir holding the cells' metadata (sax/<cell>/...). Defaults to $SAX_ROOT.",
  ),
  sax_timeout: durationFlag(
    DEFAULT_TIMEOUT_MS,
    "Deadline of the whole command, retries included, as a Go duration (90s, 10m). " +
      "watch and export run without one.",
  ),
  json: boolFlag(false, "Print listings and results as JSON instead of tables."),
  verbose: boolFlag(false, "Print the stack trace of a failure."),
  alsologtostderr: ignoredFlag(true, IGNORED),
  log_backtrace_at: ignoredFlag(false, IGNORED),
  log_dir: ignoredFlag(false, IGNORED),
  logtostderr: ignoredFlag(true, IGNORED),
  stderrthreshold: ignoredFlag(false, IGNORED),
  v: ignoredFlag(false, IGNORED),
  vmodule: ignoredFlag(false, IGNORED),
} as const;
