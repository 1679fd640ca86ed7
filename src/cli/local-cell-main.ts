/**
 * `npm start`: brings up a local cell /sax/local (a local-folder sax root, one admin, one model server),
 * publishes saxts.lm.TinyLlama with random weights, finds its server through WatchLoc as any Sax client
 * would, and prints a generated answer. Runs until Ctrl-C, or exits after the demo with --once.
 */
import { Command } from "commander";
import { resolve } from "node:path";
import { startAdminServer } from "../admin/admin-server.js";
import { SaxError } from "../common/errors.js";
import { AdminDefinition } from "../gen/sax/admin.js";
import { LMServiceDefinition } from "../gen/sax/lm.js";
import { unaryClient } from "../grpc/client.js";
import { startWorkerModelServer } from "../model-server/model-server.js";
import { EXIT_FAILURE, runMain } from "./run-main.js";

const DEMO_MODEL = {
  modelId: "/sax/local/tiny",
  modelPath: "saxts.lm.TinyLlama",
  checkpointPath: "None",
  requestedNumReplicas: 1,
};
const DEMO_PROMPT = "Hello, Sax!";
const LOAD_TIMEOUT_MS = 180_000;

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
  const saxRoot = `${dir}/root`;
  const admin = await startAdminServer(
    { saxCell: "/sax/local", saxRoot, fsRoot: `${dir}/fs`, port: flags.port, statusPort: flags.status_port },
    (err) => {
      process.stderr.write(`local_cell: fatal: ${err.message}\n`);
      process.exit(EXIT_FAILURE);
    },
  );
  const server = await startWorkerModelServer({
    saxCell: "/sax/local",
    saxRoot,
    port: 0,
    locationPollMs: 500,
  });
  const say = (line: string) => process.stdout.write(`${line}\n`);
  say(`local cell /sax/local is up: admin at ${admin.address}, model server at ${server.address}`);
  const pages =
    admin.statusPort === undefined ? "no status page" : `status page http://127.0.0.1:${admin.statusPort}/`;
  say(`  ${pages}, sax root ${saxRoot} (export SAX_ROOT=${saxRoot})`);
  const answer = await demo(admin.address, say);
  say(
    `  lm.generate(${JSON.stringify(DEMO_PROMPT)}) → ${JSON.stringify(answer.text)} (score ${answer.score.toFixed(2)})`,
  );
  say(`  (random weights: the text is noise; publish a real checkpoint for real answers)`);
  const stop = async () => {
    await server.close();
    await admin.close();
  };
  if (flags.once) return stop();
  say("serving; press Ctrl-C to stop");
  const shutdown = () => void stop().then(() => process.exit(0));
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
});

/** Publishes the demo model, waits for it, finds its server through WatchLoc and generates. */
async function demo(adminAddress: string, say: (line: string) => void) {
  const admin = unaryClient(AdminDefinition, adminAddress);
  try {
    await admin.publish({ model: DEMO_MODEL }).catch((err: unknown) => {
      if (!(err instanceof SaxError && err.code === "ALREADY_EXISTS")) throw err;
    });
    say(`  published ${DEMO_MODEL.modelId} (${DEMO_MODEL.modelPath}); loading it into a JAX worker…`);
    const started = Date.now();
    await admin.waitForReady({ modelId: DEMO_MODEL.modelId, numReplicas: 1 }, { timeoutMs: LOAD_TIMEOUT_MS });
    say(`  loaded and compiled in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const { result } = await admin.watchLoc({ modelId: DEMO_MODEL.modelId, seqno: 0 }, { timeoutMs: 10_000 });
    const address = result?.values[0] ?? result?.changelog[0]?.kind?.value;
    if (address === undefined)
      throw new SaxError("UNAVAILABLE", "the admin lists no server for the demo model");
    const lm = unaryClient(LMServiceDefinition, address);
    const { texts } = await lm.generate(
      { modelKey: DEMO_MODEL.modelId, text: DEMO_PROMPT },
      { timeoutMs: 60_000 },
    );
    lm.close();
    return texts[0] ?? { text: "", score: 0 };
  } finally {
    admin.close();
  }
}
