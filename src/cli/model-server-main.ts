/**
 * model_server: serves the Modelet and data services, joins its cell, and runs each loaded model in a
 * Python worker process.
 */
import { Command } from "commander";
import { createLogger } from "../common/log.js";
import { coresOf, parseChipTopology, parseChipType } from "../common/platform.js";
import { modelServerOptionsSchema } from "../config/model-server-options.js";
import { helpOf, parseConfig } from "../config/parse.js";
import { startModelServer } from "../model-server/model-server.js";
import { WorkerModelLoader } from "../model-server/worker-loader.js";
import { ServableRegistry } from "../registry/index.js";
import { runMain } from "./run-main.js";

const describe = (key: keyof typeof modelServerOptionsSchema.shape) => helpOf(modelServerOptionsSchema, key);

runMain("model_server", async () => {
  const flags = new Command("model_server")
    .description("Serve models of a Sax cell.")
    .option("--sax_cell <cell>", describe("saxCell"))
    .option("--sax_root <root>", describe("saxRoot"))
    .option("--port <port>", describe("port"))
    .option("--platform_chip <chip>", `${describe("platformChip")} (default cpu)`)
    .option("--platform_topology <topology>", `${describe("platformTopology")} (default 1)`)
    .option("--jax_platforms <platform>", `${describe("jaxPlatforms")} (default cpu)`)
    .option("--tags <tags>", `${describe("tags")} (comma-separated)`)
    .option("--model_filter_regex <regex>", describe("modelFilterRegex"))
    .option("--rejoin_interval_ms <ms>", describe("rejoinIntervalMs"))
    .option("--location_poll_ms <ms>", describe("locationPollMs"))
    .exitOverride()
    .parse()
    .opts<Record<string, string | undefined>>();
  const options = parseConfig(
    modelServerOptionsSchema,
    {
      saxCell: flags.sax_cell,
      saxRoot: flags.sax_root ?? process.env.SAX_ROOT,
      port: flags.port,
      platformChip: flags.platform_chip,
      platformTopology: flags.platform_topology,
      jaxPlatforms: flags.jax_platforms,
      tags: flags.tags?.split(",").filter((t) => t !== ""),
      modelFilterRegex: flags.model_filter_regex,
      rejoinIntervalMs: flags.rejoin_interval_ms,
      locationPollMs: flags.location_poll_ms,
    },
    "model_server flags",
  );
  const log = createLogger("model-server");
  const registry = new ServableRegistry(
    options.modelFilterRegex === undefined ? {} : { modelFilterRegex: options.modelFilterRegex },
  );
  // One device per core of the topology (a CPU host shows JAX a single device).
  const deviceCount = coresOf(parseChipTopology(options.platformTopology));
  const platform = {
    chipType: parseChipType(options.platformChip),
    chipTopology: parseChipTopology(options.platformTopology),
    deviceCount,
  };
  const loader = new WorkerModelLoader({ registry, deviceCount, jaxPlatforms: options.jaxPlatforms, log });
  const server = await startModelServer(options, { loader, servablePaths: registry.servablePaths(platform) });
  const shutdown = () => void server.close().then(() => process.exit(0));
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
});
