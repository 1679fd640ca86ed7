/**
 * model_server: serves the Modelet and data services, joins its cell, and runs each loaded model in a
 * Python worker process.
 */
import { Command } from "commander";
import { startAdminServer } from "../admin/admin-server.js";
import { modelServerOptionsSchema, type ModelServerOptions } from "../config/model-server-options.js";
import { helpOf } from "../config/parse.js";
import { startWorkerModelServer } from "../model-server/model-server.js";
import { parseWithEnv } from "./env-flags.js";
import { EXIT_FAILURE, resolveSaxRoot, runMain } from "./run-main.js";

const describe = (key: keyof typeof modelServerOptionsSchema.shape) => helpOf(modelServerOptionsSchema, key);

runMain("model_server", async () => {
  const flags = parseWithEnv(
    new Command("model_server")
      .description("Serve models of a Sax cell.")
      .option("--sax_cell <cell>", describe("saxCell"))
      .option("--sax_root <root>", describe("saxRoot"))
      .option("--port <port>", describe("port"))
      .option("--platform_chip <chip>", `${describe("platformChip")} (default cpu)`)
      .option("--platform_topology <topology>", `${describe("platformTopology")} (default 1)`)
      .option("--jax_platforms <platform>", `${describe("jaxPlatforms")} (default cpu)`)
      .option("--tags <tags>", `${describe("tags")} (comma-separated)`)
      .option("--model_filter_regex <regex>", describe("modelFilterRegex"))
      .option("--deterministic_rng", describe("deterministicRng"))
      .option("--admin_port <port>", "also run the cell's admin server in this process, on this port")
      .option("--rejoin_interval_ms <ms>", describe("rejoinIntervalMs"))
      .option("--location_poll_ms <ms>", describe("locationPollMs")),
  ).opts<Record<string, string | undefined> & { deterministic_rng?: boolean }>();
  // Saxml's --admin_port: the admin starts first, so the model server finds it through location.proto.
  const admin =
    flags.admin_port === undefined
      ? undefined
      : await startAdminServer(
          { saxCell: flags.sax_cell ?? "", saxRoot: resolveSaxRoot(flags.sax_root), port: flags.admin_port },
          (err) => {
            process.stderr.write(`model_server: fatal: ${err.message}\n`);
            process.exit(EXIT_FAILURE);
          },
        );
  const server = await startWorkerModelServer({
    saxCell: flags.sax_cell,
    saxRoot: flags.sax_root ?? process.env.SAX_ROOT,
    port: flags.port,
    platformChip: flags.platform_chip,
    platformTopology: flags.platform_topology,
    // Checked by the options schema inside startWorkerModelServer, like every flag here.
    jaxPlatforms: flags.jax_platforms as ModelServerOptions["jaxPlatforms"],
    tags: flags.tags?.split(",").filter((t) => t !== ""),
    modelFilterRegex: flags.model_filter_regex,
    deterministicRng: flags.deterministic_rng === true,
    rejoinIntervalMs: flags.rejoin_interval_ms,
    locationPollMs: flags.location_poll_ms,
  });
  const shutdown = () =>
    void server
      .close()
      .then(() => admin?.close())
      .then(() => process.exit(0));
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
});
