/**
 * What the data commands (`lm.*`, `vm.*`, `am.*`) share: the `-extra` and `-proxy` flags, reading a file
 * or stdin (`-`), and the call options (deadline plus extra inputs) of one call.
 */
import { readFile } from "node:fs/promises";
import type { DataCallOptions, SaxModel } from "../../client/index.js";
import { JSON_FLAG, type SaxutilEnv } from "../command.js";
import { parseExtraInputs } from "../extra-inputs.js";
import { attempt, withContext } from "../failure.js";
import { stringFlag } from "../go-flags.js";
import type { ModelId } from "../../common/naming.js";

const EXTRA_HELP =
  'Extra inputs of the call, in format "key0:value0,key1:value1,...", e.g. "temperature:0.2,nlayers:32". ' +
  "Quoted values are strings, numbers are floats.";

/** Flags of every data command. */
export const DATA_FLAGS = {
  ...JSON_FLAG,
  extra: stringFlag("", EXTRA_HELP),
} as const;

/** Flags of the LM commands: {@link DATA_FLAGS} and `-proxy`. */
export const LM_FLAGS = {
  ...DATA_FLAGS,
  proxy: stringFlag(
    "",
    "Send the call to this host:port (a proxy or one model server) instead of the model's replicas.",
  ),
} as const;

/**
 * The options of one data call: the command's deadline and the parsed `-extra` (INVALID_ARGUMENT,
 * before any RPC, if it does not parse).
 */
export function dataOptions(env: SaxutilEnv, extra: string): DataCallOptions {
  let extraInputs;
  try {
    extraInputs = parseExtraInputs(extra);
  } catch (err) {
    throw withContext("Could not parse extra inputs", err);
  }
  return extraInputs === undefined ? env.deadline() : { ...env.deadline(), extraInputs };
}

/** The model handle for `id`, through `proxy` when one is given. */
export function modelOf(env: SaxutilEnv, id: ModelId, proxy = ""): SaxModel {
  return env.sax().model(id.full, proxy === "" ? {} : { proxyAddress: proxy });
}

/** The bytes of `path`, or of stdin for `-`. */
export function readInput(env: SaxutilEnv, path: string): Promise<Buffer> {
  if (path === "-") return env.readStdin();
  return attempt(`cannot read input file ${path}`, () => readFile(path));
}

/** The text of `arg`, or all of stdin for `-` (kept as is, trailing newline included, as in Saxml). */
export async function readTextArg(env: SaxutilEnv, arg: string): Promise<string> {
  return arg === "-" ? (await env.readStdin()).toString("utf8") : arg;
}
