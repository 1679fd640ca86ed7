/**
 * The language-model commands: `lm.generate` (also streaming), `lm.score`, `lm.embed`, `lm.gradient`.
 */
import { SaxError } from "../../common/errors.js";
import { defineCommand, expectArgs, UsageError, wantsJson } from "../command.js";
import { attempt } from "../failure.js";
import { formatFloat } from "../go-float-format.js";
import { boolFlag, intFlag } from "../go-flags.js";
import { StreamPrinter } from "../lm-stream.js";
import { writeJson, writeListing } from "../output.js";
import { dataOptions, LM_FLAGS, modelOf, readTextArg } from "./data-call.js";
import { modelIdArg } from "./models.js";

/** Floats joined by `, ` in table form, at most `limit` of them followed by `, ...`. */
export function joinFloats(values: readonly number[], limit = Infinity): string {
  const shown = values.slice(0, limit).map(formatFloat).join(", ");
  return values.length > limit ? `${shown}, ...` : shown;
}

/** The `lm.generate` command. */
export const lmGenerateCommand = defineCommand({
  name: "lm.generate",
  synopsis: "Generate a text against a given model.",
  usage:
    "lm.generate [-n=<N>] [-stream] [-terse] [-extra=<extra>] [-proxy=<addr>] <model ID> <query>:\n" +
    "\tGenerate continuations of the query with a published language model.\n" +
    '\t* Extra inputs such as the temperature: -extra="temperature:0.2".\n' +
    "\t* -stream prints the text as it is generated (not with -n or -terse).\n" +
    "\t* -n=<N> prints at most N results; -terse prints only the texts, best score first.\n" +
    "\t* A query of '-' is read from stdin.\n",
  flags: {
    ...LM_FLAGS,
    stream: boolFlag(false, "Stream the text as it is generated."),
    terse: boolFlag(false, "Print only the generated texts, one per line, highest score first."),
    n: intFlag(0, "Print at most this many generated texts (0: all)."),
  },
  async run(call) {
    const { flags, args, env } = call;
    expectArgs(args, 2, 2, "provide a model ID and a query");
    const id = modelIdArg(args[0] ?? "");
    const query = await readTextArg(env, args[1] ?? "");
    const options = dataOptions(env, flags.extra);
    if (flags.stream && flags.terse)
      throw new SaxError("INVALID_ARGUMENT", "-terse cannot be combined with -stream");
    if (flags.stream && flags.n > 0)
      throw new SaxError("INVALID_ARGUMENT", "-n cannot be combined with -stream");
    const lm = modelOf(env, id, flags.proxy).lm;
    const json = wantsJson(call);
    if (flags.stream) {
      const printer = new StreamPrinter(env.stdout, json);
      await attempt(
        `lm.generate -stream on ${id.full} failed`,
        async () => {
          try {
            for await (const samples of lm.generateStream(query, options)) printer.message(samples);
          } catch (err) {
            printer.abort();
            throw err;
          }
        },
        id.full,
      );
      printer.finish();
      return;
    }
    let results = await attempt(
      `lm.generate on ${id.full} failed`,
      () => lm.generate(query, options),
      id.full,
    );
    if (flags.terse) results = [...results].sort((a, b) => b.score - a.score);
    if (flags.n > 0) results = results.slice(0, flags.n);
    if (json) return writeJson(env.stdout, { texts: results });
    if (flags.terse) return env.stdout.write(results.map(({ text }) => `${text}\n`).join(""));
    const rows = results.map(({ text, score }) => [text, formatFloat(score)]);
    writeListing(env.stdout, { header: ["generate", "Score"], rows });
  },
});

/** The `lm.score` command. */
export const lmScoreCommand = defineCommand({
  name: "lm.score",
  synopsis: "Score a prefix and suffix against a given model.",
  usage:
    "lm.score [-extra=<extra>] [-proxy=<addr>] <model ID> <prefix> <suffix>...:\n" +
    "\tPrint the log probability of each suffix after the prefix.\n",
  flags: LM_FLAGS,
  async run(call) {
    const { flags, args, env } = call;
    if (args.length < 3) throw new UsageError("provide a model ID, a prefix and at least one suffix");
    const [idText = "", prefix = "", ...suffixes] = args;
    const id = modelIdArg(idText);
    const options = dataOptions(env, flags.extra);
    const logp = await attempt(
      `lm.score on ${id.full} failed`,
      () => modelOf(env, id, flags.proxy).lm.score(prefix, suffixes, options),
      id.full,
    );
    const perSuffix = Math.floor(logp.length / suffixes.length);
    const slices = suffixes.map((suffix, i) => ({
      suffix,
      logp: logp.slice(i * perSuffix, (i + 1) * perSuffix),
    }));
    if (wantsJson(call)) return writeJson(env.stdout, { prefix, scores: slices });
    // Each row has one cell per returned score (Saxml's layout): its own scores first, then blanks.
    const rows = slices.map(({ suffix, logp: own }) => [
      suffix,
      ...own.map(formatFloat),
      ...new Array<string>(logp.length - own.length).fill(""),
    ]);
    writeListing(env.stdout, { header: ["Suffix", "Score"], rows });
  },
});

/** The `lm.embed` command. */
export const lmEmbedCommand = defineCommand({
  name: "lm.embed",
  synopsis: "Embed a text against a given model.",
  usage:
    "lm.embed [-extra=<extra>] [-proxy=<addr>] <model ID> <text>:\n" +
    "\tPrint the embedding of a text computed by a published language model.\n",
  flags: LM_FLAGS,
  async run(call) {
    const { flags, args, env } = call;
    expectArgs(args, 2, 2, "provide a model ID and a text");
    const id = modelIdArg(args[0] ?? "");
    const text = args[1] ?? "";
    const options = dataOptions(env, flags.extra);
    const embedding = await attempt(
      `lm.embed on ${id.full} failed`,
      () => modelOf(env, id, flags.proxy).lm.embed(text, options),
      id.full,
    );
    if (wantsJson(call)) return writeJson(env.stdout, { text, embedding });
    writeListing(env.stdout, { header: ["Text", "Embedding"], rows: [[text, joinFloats(embedding)]] });
  },
});

/** The `lm.gradient` command. */
export const lmGradientCommand = defineCommand({
  name: "lm.gradient",
  synopsis: "Generate gradient of a pair of prefix and suffix against a given model.",
  usage:
    "lm.gradient [-extra=<extra>] [-proxy=<addr>] <model ID> <prefix> <suffix>:\n" +
    "\tPrint the scores of the suffix after the prefix and the gradients of the model's\n" +
    "\tinputs (the first 8 values of each).\n",
  flags: LM_FLAGS,
  async run(call) {
    const { flags, args, env } = call;
    expectArgs(args, 3, 3, "provide a model ID, a prefix and a suffix");
    const [idText = "", prefix = "", suffix = ""] = args;
    const id = modelIdArg(idText);
    const options = dataOptions(env, flags.extra);
    const result = await attempt(
      `lm.gradient on ${id.full} failed`,
      () => modelOf(env, id, flags.proxy).lm.gradient(prefix, suffix, options),
      id.full,
    );
    if (wantsJson(call)) return writeJson(env.stdout, result);
    const names = Object.keys(result.gradients).sort();
    const header = ["Score", ...names];
    const row = [
      joinFloats(result.score),
      ...names.map((name) => joinFloats(result.gradients[name] ?? [], 8)),
    ];
    writeListing(env.stdout, { header, rows: [row] });
  },
});
