/**
 * Model administration through the cell's admin: `publish` (optionally waiting for the replicas),
 * `unpublish`, `update`, `update_checkpoint` and `watch`.
 */
import { SaxError } from "../../common/errors.js";
import { parseModelId, type ModelId } from "../../common/naming.js";
import { defineCommand, expectArgs, JSON_FLAG, UsageError, wantsJson } from "../command.js";
import { attempt, withContext } from "../failure.js";
import { boolFlag, intFlag } from "../go-flags.js";
import { parseGoInt } from "../go-values.js";
import { writeJson } from "../output.js";
import { waitForReplicas } from "../publish-wait.js";

/** Parses a model id argument; an invalid one fails the command (exit 1) before any RPC. */
export function modelIdArg(text: string): ModelId {
  try {
    return parseModelId(text);
  } catch (err) {
    throw withContext(`invalid model ID ${text}, should be /sax/<cell>/<model>`, err);
  }
}

/** `key=value` overrides, split at the first `=` (values are kept verbatim: JSON text). */
function parseOverrides(pairs: readonly string[]): Record<string, string> {
  const overrides: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq < 0) throw new UsageError(`overrides must have the form key=value, got ${JSON.stringify(pair)}`);
    overrides[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return overrides;
}

/** The `publish` command. */
export const publishCommand = defineCommand({
  name: "publish",
  synopsis: "Publish a model.",
  usage:
    "publish [-wait] <model ID> <model path> <checkpoint path> <num of replicas> [key=value]...:\n" +
    "\tPublish a model on the given number of model servers. Each key=value overrides a\n" +
    "\tservable parameter; values are JSON, so strings need double quotes (NAME='\"x\"').\n" +
    "\tWith -wait, stay until the replicas have loaded the model (within --sax_timeout).\n",
  flags: {
    wait: boolFlag(false, "Wait until the replicas have loaded the model, showing progress on stderr."),
  },
  async run({ flags, args, env }) {
    if (args.length < 4) {
      throw new UsageError(
        "provide a model ID, a model path, a checkpoint path and a number of replicas, " +
          "then any key=value overrides",
      );
    }
    const [idText = "", modelPath = "", checkpointPath = "", replicasText = "", ...pairs] = args;
    const id = modelIdArg(idText);
    let numReplicas: number;
    try {
      numReplicas = parseGoInt(replicasText, true);
    } catch {
      throw new UsageError(`the number of replicas must be an integer, got ${JSON.stringify(replicasText)}`);
    }
    const overrides = parseOverrides(pairs);
    const admin = env.sax().admin(id.cell.full);
    await attempt(
      `cannot publish ${id.full}`,
      () =>
        admin.publish(
          { modelId: id.full, modelPath, checkpointPath, numReplicas, overrides },
          env.deadline(),
        ),
      id.full,
    );
    if (flags.wait && numReplicas > 0) {
      await attempt(
        `${id.full} is published, but not all ${numReplicas} replica(s) became ready`,
        () => waitForReplicas(env, admin, id.full, numReplicas),
        id.full,
      );
    }
  },
});

/** The `unpublish` command. */
export const unpublishCommand = defineCommand({
  name: "unpublish",
  synopsis: "Unpublish a model.",
  usage: "unpublish <model ID>:\n\tUnpublish a model; its model servers unload it shortly after.\n",
  flags: {},
  async run({ args, env }) {
    expectArgs(args, 1, 1, "provide one model ID");
    const id = modelIdArg(args[0] ?? "");
    await attempt(
      `cannot unpublish ${id.full}`,
      () => env.sax().admin(id.cell.full).unpublish(id.full, env.deadline()),
      id.full,
    );
  },
});

/** The `update` command. */
export const updateCommand = defineCommand({
  name: "update",
  synopsis: "Update a model.",
  usage:
    "update [-replicas=<num>] <model ID>:\n" +
    "\tChange how many replicas serve a published model (other fields stay as listed).\n",
  flags: { replicas: intFlag(-1, "Number of replicas for this model.") },
  async run({ flags, args, env }) {
    expectArgs(args, 1, 1, "provide one model ID (flags go before it: update -replicas=2 /sax/c/m)");
    const id = modelIdArg(args[0] ?? "");
    if (flags.replicas < 0) {
      throw new SaxError(
        "INVALID_ARGUMENT",
        `nothing to update for ${id.full}: num replicas must be non-negative; give it with -replicas=<num>`,
      );
    }
    await attempt(
      `cannot update ${id.full}`,
      () =>
        env
          .sax()
          .admin(id.cell.full)
          .update({ modelId: id.full, numReplicas: flags.replicas }, env.deadline()),
      id.full,
    );
  },
});

/** The `update_checkpoint` command. */
export const updateCheckpointCommand = defineCommand({
  name: "update_checkpoint",
  synopsis: "Update a model's checkpoint path.",
  usage:
    "update_checkpoint <model ID> <checkpoint path>:\n" +
    "\tPoint a published model at another checkpoint; its servers reload it.\n",
  flags: {},
  async run({ args, env }) {
    expectArgs(args, 2, 2, "provide a model ID and a checkpoint path");
    const id = modelIdArg(args[0] ?? "");
    const checkpointPath = args[1] ?? "";
    await attempt(
      `cannot update the checkpoint of ${id.full}`,
      () => env.sax().admin(id.cell.full).update({ modelId: id.full, checkpointPath }, env.deadline()),
      id.full,
    );
  },
});

/** The `watch` command. */
export const watchCommand = defineCommand({
  name: "watch",
  synopsis: "Watch addresses of a model.",
  usage:
    "watch <model ID>:\n" +
    "\tPrint the model's server addresses as the admin reports them: 'Reset' and '+ <addr>'\n" +
    "\tlines for a full set, then '+ <addr>' / '- <addr>' for each change. Runs until the\n" +
    "\tmodel is unpublished or the command is interrupted; --sax_timeout does not apply.\n",
  flags: { ...JSON_FLAG },
  async run(call) {
    const { args, env } = call;
    expectArgs(args, 1, 1, "provide one model ID");
    const id = modelIdArg(args[0] ?? "");
    const json = wantsJson(call);
    const print = (text: string, record: object) =>
      json ? writeJson(env.stdout, record, true) : env.stdout.write(`${text}\n`);
    await attempt(
      `watching the addresses of ${id.full} failed`,
      async () => {
        for await (const update of env.sax().admin(id.cell.full).watchUpdates(id.full, env.noDeadline())) {
          if (update.fullSet !== undefined) {
            const values = [...update.fullSet].sort();
            print(["Reset", ...values.map((a) => `+ ${a}`)].join("\n"), { reset: values });
          }
          for (const change of update.changes) {
            const sign = change.kind === "add" ? "+" : "-";
            print(`${sign} ${change.address}`, { [change.kind]: change.address });
          }
        }
        throw new SaxError(
          "NOT_FOUND",
          "the admin stopped answering the watch; is the model still published?",
        );
      },
      id.full,
    );
  },
});
