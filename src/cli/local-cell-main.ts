/**
 * `npm start`: brings up a local cell (local-folder sax root, one admin) and answers a real request
 * through the public protocol: it publishes a small demo model and lists the cell. Runs until Ctrl-C,
 * or exits after the demo with --once.
 */
import { Command } from "commander";
import { resolve } from "node:path";
import { startAdminServer } from "../admin/admin-server.js";
import { AdminDefinition } from "../gen/sax/admin.js";
import { unaryClient } from "../grpc/client.js";
import { EXIT_FAILURE, runMain } from "./run-main.js";

const DEMO_MODEL = {
  modelId: "/sax/local/tiny",
  modelPath: "saxts.lm.TinyLlama",
  checkpointPath: "None",
  requestedNumReplicas: 1,
};

runMain("local_cell", async () => {
  const flags = new Command("local_cell")
    .description("Run a local Sax cell /sax/local on this machine.")
    .option("--dir <dir>", "folder holding the cell's sax root and state", ".local-cell")
    .option("--port <port>", "admin gRPC port (0 picks a free one)", "10000")
    .option("--status_port <port>", "admin status page port", "8080")
    .option("--once", "exit after the demo request instead of serving")
    .exitOverride()
    .parse()
    .opts<{ dir: string; port: string; status_port: string; once?: boolean }>();
  process.env.SAX_DEBUG_IPADDR ??= "1";
  const dir = resolve(flags.dir);
  const admin = await startAdminServer(
    {
      saxCell: "/sax/local",
      saxRoot: `${dir}/root`,
      fsRoot: `${dir}/fs`,
      port: flags.port,
      statusPort: flags.status_port,
    },
    (err) => {
      process.stderr.write(`local_cell: fatal: ${err.message}\n`);
      process.exit(EXIT_FAILURE);
    },
  );
  const client = unaryClient(AdminDefinition, admin.address);
  try {
    await client.publish({ model: DEMO_MODEL });
  } catch (err) {
    if ((err as { code?: string }).code !== "ALREADY_EXISTS") throw err;
  }
  const { publishedModels } = await client.list({ modelId: "" }, { timeoutMs: 5000 });
  client.close();
  const lines = [
    `local cell /sax/local is up: admin at ${admin.address}, status page http://127.0.0.1:${admin.statusPort}/`,
    `  sax root ${dir}/root (export SAX_ROOT=${dir}/root to point tools at it), state in ${dir}/fs`,
    `  published models (List answered by the admin):`,
    ...publishedModels.map(
      (p) =>
        `    ${p.model?.modelId}  ${p.model?.modelPath}  replicas ${p.modeletAddresses.length}/${p.model?.requestedNumReplicas}`,
    ),
    `  model server not yet available: published models wait for a model server to join the cell`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  if (flags.once) {
    await admin.close();
    return;
  }
  process.stdout.write("serving; press Ctrl-C to stop\n");
  const shutdown = () => void admin.close().then(() => process.exit(0));
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
});
