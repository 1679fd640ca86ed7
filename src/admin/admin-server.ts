/**
 * The admin server process, assembled: cell config → state restore → gRPC (Admin + reflection) →
 * location.proto → status pages. Used by bin/admin_server, the local cell, and tests.
 */
import { randomBytes } from "node:crypto";
import { readConfig, writeConfig, writeLocation } from "../common/cell-layout.js";
import { SaxError } from "../common/errors.js";
import { hostPort, myIp } from "../common/ip-address.js";
import { createLogger } from "../common/log.js";
import { parseCellId, type CellId } from "../common/naming.js";
import { openFsRoot } from "../common/open-fs-root.js";
import type { FsRoot } from "../common/fs-root.js";
import { adminServerOptionsSchema, type AdminServerOptions } from "../config/admin-options.js";
import { parseConfig } from "../config/parse.js";
import { startGrpcServer } from "../grpc/server.js";
import { ServableRegistry } from "../registry/index.js";
import { ossAclPolicy } from "./acl.js";
import { adminService } from "./admin-service.js";
import { CellAdmin } from "./cell-admin.js";
import { StateStore } from "./state-store.js";
import { startStatusPage } from "./status-page.js";

/** A running admin server. */
export interface AdminServerHandle extends AsyncDisposable {
  readonly admin: CellAdmin;
  /** The address written to location.proto, `ip:port`. */
  readonly address: string;
  /** This incarnation's id, `ip:port_<16 hex>`. */
  readonly serverId: string;
  readonly port: number;
  /** Port of the status pages, or undefined if they could not be served (the admin runs without). */
  readonly statusPort: number | undefined;
  /** Stops serving (running calls get a short grace period) and background work. */
  close(): Promise<void>;
}

/** Starts an admin server. `onFatal` is called if the cell state can no longer be saved. */
export async function startAdminServer(
  input: AdminServerOptions,
  onFatal: (err: SaxError) => void = () => undefined,
): Promise<AdminServerHandle> {
  const options = parseConfig(adminServerOptionsSchema, input, "admin server options");
  const log = createLogger("admin");
  const cell = parseCellId(options.saxCell);
  const saxRoot = await openFsRoot(options.saxRoot);
  const fsRoot = await openFsRoot(await resolveFsRoot(saxRoot, cell, options.fsRoot, options.adminAcl));
  const ip = myIp();
  const host = ip === "127.0.0.1" ? "127.0.0.1" : "0.0.0.0";
  const admin = new CellAdmin({
    cell,
    store: new StateStore(fsRoot, cell),
    acls: ossAclPolicy,
    estimateBytes: registryEstimator(),
    timings: options,
    log,
    onFatal,
  });
  await admin.start();
  const grpc = await startGrpcServer({ host, port: options.port, services: [adminService(admin)] });
  const address = hostPort(ip, grpc.port);
  admin.serverId = `${address}_${randomBytes(8).toString("hex")}`;
  await writeLocation(saxRoot, cell, address);
  // The status pages are a convenience: a busy port (a second admin on the host, say) must not stop the admin.
  const status = await startStatusPage(admin, cell.full, options.statusPort).catch((err: unknown) => {
    log.warn(`no status page: cannot listen on 127.0.0.1:${options.statusPort}: ${(err as Error).message}`);
    return undefined;
  });
  const pages = status ? ` (status page http://127.0.0.1:${status.port}/)` : "";
  log.info(`admin for ${cell.full} serving at ${address}${pages}`);
  const close = async () => {
    await admin.stop();
    await Promise.all([grpc.close(), status?.close()]);
  };
  return {
    admin,
    address,
    serverId: admin.serverId,
    port: grpc.port,
    statusPort: status?.port,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Model sizes from the servable registry, remembered per path and overrides. */
function registryEstimator(): (
  path: string,
  overrides: Readonly<Record<string, string>>,
) => number | undefined {
  const registry = new ServableRegistry();
  const known = new Map<string, number | undefined>();
  return (path, overrides) => {
    const key = JSON.stringify([path, Object.entries(overrides).sort()]);
    if (!known.has(key)) known.set(key, registry.estimatedBytes(path, overrides));
    return known.get(key);
  };
}

/** The fs root to keep state in: the flag if given (creating the config if missing), else config.proto's. */
async function resolveFsRoot(
  saxRoot: FsRoot,
  cell: CellId,
  flag: string | undefined,
  adminAcl: string,
): Promise<string> {
  if (flag !== undefined) {
    if ((await saxRoot.kindOf(`sax/${cell.name}/config.proto`)) === "missing") {
      await writeConfig(saxRoot, cell, { fsRoot: flag, adminAcl });
    }
    return flag;
  }
  const config = await readConfig(saxRoot, cell);
  if (config.fsRoot === "") {
    throw new SaxError(
      "FAILED_PRECONDITION",
      `config of cell ${cell.full} has an empty fs_root; rerun admin_config with --fs_root`,
    );
  }
  return config.fsRoot;
}
