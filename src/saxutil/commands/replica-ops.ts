/**
 * Commands sent to one serving replica of a model rather than to the admin: `save` (checkpoint the
 * weights) and `export` (a TF SavedModel), plus `am.recognize`, kept for Saxml's command list.
 */
import { RNG_SEED_MODES, type RngSeedMode } from "../../client/index.js";
import { SaxError } from "../../common/errors.js";
import { defineCommand, expectArgs, UsageError } from "../command.js";
import { attempt, withContext } from "../failure.js";
import { boolFlag, listFlag, stringFlag } from "../go-flags.js";
import { modelIdArg } from "./models.js";

/** The `save` command. */
export const saveCommand = defineCommand({
  name: "save",
  synopsis: "Save a model checkpoint.",
  usage:
    "save <model ID> <checkpoint path>:\n" +
    "\tAsk one serving replica of the model to save its weights to the checkpoint path.\n",
  flags: {},
  async run({ args, env }) {
    expectArgs(args, 2, 2, "provide a model ID and a checkpoint path");
    const id = modelIdArg(args[0] ?? "");
    const checkpointPath = args[1] ?? "";
    await attempt(
      `cannot save ${id.full} to ${checkpointPath}`,
      () => env.sax().model(id.full).save(checkpointPath, env.deadline()),
      id.full,
    );
  },
});

function isRngSeedMode(mode: string): mode is RngSeedMode {
  return (RNG_SEED_MODES as readonly string[]).includes(mode);
}

/** The `export` command. */
export const exportCommand = defineCommand({
  name: "export",
  synopsis: "Export a model to a TF SavedModel.",
  usage:
    "export [-rng_seed_mode=stateful|stateless|fixed] [-signatures=a,b] <model ID> <method[,method]...> <export path>:\n" +
    "\tAsk one serving replica to export the given methods of the model as a TF SavedModel\n" +
    "\tto the export path. Runs without deadline. Fails with UNIMPLEMENTED when the model's\n" +
    "\tservable cannot be exported (no sax-ts servable can).\n",
  flags: {
    rng_seed_mode: stringFlag("stateful", "RNG seed mode: 'stateful', 'stateless' or 'fixed'."),
    signatures: listFlag(
      "Comma-separated signatures to export to, one per method, in the same order (repeatable).",
    ),
    enable_gpu_multi_device_execution: boolFlag(true, "Whether to enable multi-device execution on GPU."),
  },
  async run({ flags, args, env }) {
    expectArgs(args, 3, 3, "provide a model ID, method name(s) and an export path");
    const [idText = "", methods = "", exportPath = ""] = args;
    const id = modelIdArg(idText);
    const rngSeedMode = flags.rng_seed_mode.toLowerCase();
    if (!isRngSeedMode(rngSeedMode)) {
      throw new SaxError(
        "INVALID_ARGUMENT",
        `invalid -rng_seed_mode=${flags.rng_seed_mode}: use one of ${RNG_SEED_MODES.join(", ")}`,
      );
    }
    try {
      await env
        .sax()
        .model(id.full)
        .export(
          {
            methodNames: methods.split(","),
            exportPath,
            rngSeedMode,
            signatures: flags.signatures,
            enableGpuMultiDeviceExecution: flags.enable_gpu_multi_device_execution,
          },
          env.noDeadline(),
        );
    } catch (err) {
      const cannot = `cannot export ${id.full} (${methods}) to ${exportPath}`;
      if (err instanceof SaxError && err.code === "UNIMPLEMENTED") {
        throw new SaxError(
          "UNIMPLEMENTED",
          `${cannot}: the model's servable cannot be exported: ${err.message}`,
          { model: id.full, cause: err },
        );
      }
      throw withContext(cannot, err);
    }
  },
});

/** The `am.recognize` command (listed as in Saxml; sax-ts serves no audio models). */
export const amRecognizeCommand = defineCommand({
  name: "am.recognize",
  synopsis: "Transcribe an audio.",
  usage:
    "am.recognize [-extra=<extra>] <model ID> <audio file>:\n" +
    "\tTranscribe an audio file with a published audio model. sax-ts model servers have no\n" +
    "\taudio service (sax.server.audio), so this always fails with UNIMPLEMENTED.\n",
  flags: { extra: stringFlag("", 'Extra inputs of the call, in format "key0:value0,key1:value1,...".') },
  run({ args }) {
    if (args.length !== 2) throw new UsageError("provide a model ID and an audio file");
    const id = modelIdArg(args[0] ?? "");
    throw new SaxError(
      "UNIMPLEMENTED",
      `cannot transcribe with ${id.full}: sax-ts has no audio service (sax.server.audio) and its client library no audio calls`,
    );
  },
});
