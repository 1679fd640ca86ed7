/**
 * admin_server: serves a cell's Admin service until SIGINT/SIGTERM.
 */
import { Command } from "commander";
import { startAdminServer } from "../admin/admin-server.js";
import { adminServerOptionsSchema } from "../config/admin-options.js";
import { helpOf } from "../config/parse.js";
import { parseWithEnv } from "./env-flags.js";
import { EXIT_FAILURE, resolveSaxRoot, runMain } from "./run-main.js";

const describe = (key: keyof typeof adminServerOptionsSchema.shape) => helpOf(adminServerOptionsSchema, key);

runMain("admin_server", async () => {
  const flags = parseWithEnv(
    new Command("admin_server")
      .description("Serve the Admin service of a Sax cell.")
      .option("--sax_cell <cell>", describe("saxCell"))
      .option("--sax_root <root>", describe("saxRoot"))
      .option("--fs_root <root>", describe("fsRoot"))
      .option("--admin_acl <acl>", describe("adminAcl"))
      .option("--port <port>", `${describe("port")} (default 10000)`)
      .option("--status_port <port>", `${describe("statusPort")} (default 8080)`)
      .option("--refresh_interval_ms <ms>", describe("refreshIntervalMs"))
      .option("--poll_interval_ms <ms>", describe("pollIntervalMs"))
      .option("--poll_timeout_ms <ms>", describe("pollTimeoutMs"))
      .option("--prune_timeout_ms <ms>", describe("pruneTimeoutMs"))
      .option("--join_timeout_ms <ms>", describe("joinTimeoutMs"))
      .option("--wake_up_timeout_ms <ms>", describe("wakeUpTimeoutMs")),
  ).opts<Record<string, string | undefined>>();
  const server = await startAdminServer(
    {
      saxCell: flags.sax_cell ?? "",
      saxRoot: resolveSaxRoot(flags.sax_root),
      fsRoot: flags.fs_root,
      adminAcl: flags.admin_acl,
      port: flags.port,
      statusPort: flags.status_port,
      refreshIntervalMs: flags.refresh_interval_ms,
      pollIntervalMs: flags.poll_interval_ms,
      pollTimeoutMs: flags.poll_timeout_ms,
      pruneTimeoutMs: flags.prune_timeout_ms,
      joinTimeoutMs: flags.join_timeout_ms,
      wakeUpTimeoutMs: flags.wake_up_timeout_ms,
    },
    (err) => {
      process.stderr.write(`admin_server: fatal: ${err.message}\n`);
      process.exit(EXIT_FAILURE);
    },
  );
  const shutdown = () => void server.close().then(() => process.exit(0));
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
});
