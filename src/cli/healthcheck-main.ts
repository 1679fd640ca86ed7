/**
 * sax_healthcheck: the HEALTHCHECK of our Docker images. Exits 0 when the admin or model server on this
 * host answers a cheap RPC in time (the admin's List, the model server's GetStatus), 1 with the reason
 * on stderr when it does not.
 */
import { Command } from "commander";
import { ConfigError } from "../common/errors.js";
import { ADMIN_METHODS } from "../client/admin-rpc.js";
import { ModeletDefinition } from "../gen/sax/modelet.js";
import { callUnary, openChannel } from "../grpc/client.js";
import { grpcService } from "../grpc/definitions.js";
import { parseWithEnv } from "./env-flags.js";
import { runMain } from "./run-main.js";

const SERVERS = ["admin_server", "model_server"] as const;
const DEFAULT_ADMIN_PORT = "10000";

runMain("sax_healthcheck", async () => {
  const command = new Command("sax_healthcheck")
    .description("Check that the admin or model server listening on this host answers.")
    .argument("<server>", `${SERVERS.join(" or ")}`)
    .option("--port <port>", `its gRPC port (default ${DEFAULT_ADMIN_PORT} for admin_server)`)
    .option("--timeout_ms <ms>", "give up after this long", "3000");
  const flags = parseWithEnv(command).opts<{ port?: string; timeout_ms: string }>();
  const server = command.args[0] as (typeof SERVERS)[number];
  if (!SERVERS.includes(server)) throw new ConfigError(`unknown server ${JSON.stringify(server)}`);
  const port = flags.port ?? (server === "admin_server" ? DEFAULT_ADMIN_PORT : undefined);
  if (port === undefined) throw new ConfigError("model_server needs --port (or SAX_PORT)");
  const timeoutMs = Number(flags.timeout_ms);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new ConfigError("--timeout_ms must be > 0");

  const channel = openChannel(`127.0.0.1:${port}`);
  try {
    if (server === "admin_server")
      await callUnary(channel, ADMIN_METHODS.list, { modelId: "" }, { timeoutMs });
    else
      await callUnary(
        channel,
        grpcService(ModeletDefinition).getStatus,
        { includeFailureReasons: false, includeMethodStats: false },
        { timeoutMs },
      );
  } finally {
    channel.close();
  }
});
