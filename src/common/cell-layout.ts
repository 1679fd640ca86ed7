/**
 * Where a cell's files live and how they are read and written (Saxml's layout, binary protobuf):
 *
 *   <sax_root>/sax/<cell>/config.proto    Config{fs_root, admin_acl}, written by admin_config
 *   <sax_root>/sax/<cell>/location.proto  Location{location: "ip:port"}, written by the admin at start
 *   <fs_root>/sax/<cell>/state.proto      State{models}, written by the admin on every change
 */
import { Config, Location } from "../gen/sax/admin.js";
import { SaxError } from "./errors.js";
import type { FsRoot } from "./fs-root.js";
import type { CellId } from "./naming.js";

/** The location value some tools write before any admin ran; readers treat it as "no admin". */
export const LOCATION_PLACEHOLDER = "No admin server has been started for this Sax cell.";

/** The directory of a cell's files under a root: `sax/<cell>`. */
export function cellDir(cell: CellId): string {
  return `sax/${cell.name}`;
}

/** Path of config.proto under the sax root. */
export function configPath(cell: CellId): string {
  return `${cellDir(cell)}/config.proto`;
}

/** Path of location.proto under the sax root. */
export function locationPath(cell: CellId): string {
  return `${cellDir(cell)}/location.proto`;
}

/** Path of state.proto under the admin's fs root. */
export function statePath(cell: CellId): string {
  return `${cellDir(cell)}/state.proto`;
}

/** Throws FAILED_PRECONDITION unless the cell's directory exists under the sax root. */
export async function ensureCellExists(saxRoot: FsRoot, cell: CellId): Promise<void> {
  const dir = `${saxRoot.url.replace(/\/+$/, "")}/${cellDir(cell)}`;
  const kind = await saxRoot.kindOf(cellDir(cell));
  if (kind === "missing") {
    throw new SaxError(
      "FAILED_PRECONDITION",
      `"${dir}" is not a directory: cell ${cell.full} does not exist; create it with admin_config`,
    );
  }
  if (kind === "file") throw new SaxError("FAILED_PRECONDITION", `${dir} is a file, not a directory`);
}

/** Creates the cell directory and writes its config (what admin_config does). */
export async function writeConfig(saxRoot: FsRoot, cell: CellId, config: Config): Promise<void> {
  await saxRoot.makeDir(cellDir(cell));
  if (config.adminAcl === "") {
    throw new SaxError("INVALID_ARGUMENT", "config must be saved with a non-empty write ACL (--admin_acl)");
  }
  await saxRoot.writeFile(configPath(cell), Config.encode(config).finish());
}

/** Reads a cell's config; FAILED_PRECONDITION if the cell or its config is missing. */
export async function readConfig(saxRoot: FsRoot, cell: CellId): Promise<Config> {
  await ensureCellExists(saxRoot, cell);
  const file = await saxRoot.readFile(configPath(cell));
  if (!file) {
    throw new SaxError(
      "FAILED_PRECONDITION",
      `cell ${cell.full} has no config.proto under ${saxRoot.url}; run admin_config for it`,
    );
  }
  return decodeOrThrow(() => Config.decode(file.data), `config of cell ${cell.full}`);
}

/** Publishes the admin's address for the cell. */
export async function writeLocation(saxRoot: FsRoot, cell: CellId, address: string): Promise<void> {
  await saxRoot.writeFile(locationPath(cell), Location.encode({ location: address }).finish());
}

/** Reads the admin's address; FAILED_PRECONDITION if no admin ever ran for the cell. */
export async function readLocation(saxRoot: FsRoot, cell: CellId): Promise<string> {
  await ensureCellExists(saxRoot, cell);
  const file = await saxRoot.readFile(locationPath(cell));
  if (!file) {
    throw new SaxError("FAILED_PRECONDITION", `no admin server has ever run for cell ${cell.full}`);
  }
  const { location } = decodeOrThrow(() => Location.decode(file.data), `location of cell ${cell.full}`);
  if (location === "" || location === LOCATION_PLACEHOLDER) {
    throw new SaxError(
      "FAILED_PRECONDITION",
      `got an empty location for cell ${cell.full}: is its admin running?`,
    );
  }
  return location;
}

/** Decodes a protobuf file, turning a parse failure into DATA_LOSS that names the file. */
export function decodeOrThrow<T>(decode: () => T, what: string): T {
  try {
    return decode();
  } catch (err) {
    throw new SaxError("DATA_LOSS", `cannot decode the ${what}: ${(err as Error).message}`, { cause: err });
  }
}
