/**
 * The vision commands: `vm.classify`, `vm.generate` (text to images), `vm.embed`, `vm.detect`. Images
 * are read from a file or, for `-`, from stdin.
 */
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { defineCommand, expectArgs, UsageError, wantsJson } from "../command.js";
import { attempt } from "../failure.js";
import { formatFloat } from "../go-float-format.js";
import { writeJson, writeListing } from "../output.js";
import { DATA_FLAGS, dataOptions, modelOf, readInput } from "./data-call.js";
import { joinFloats } from "./lm.js";
import { modelIdArg } from "./models.js";

const IMAGE_NOTE = "\tThe image may be a JPEG, PNG or WebP file; '-' reads it from stdin.\n";

/** The `vm.classify` command. */
export const vmClassifyCommand = defineCommand({
  name: "vm.classify",
  synopsis: "Classify an image against a given model.",
  usage:
    "vm.classify [-extra=<extra>] <model ID> <image file | ->:\n" +
    "\tPrint the labels a published vision model gives an image, with their scores.\n" +
    IMAGE_NOTE,
  flags: DATA_FLAGS,
  async run(call) {
    const { flags, args, env } = call;
    expectArgs(args, 2, 2, "provide a model ID and an image file (or - for stdin)");
    const id = modelIdArg(args[0] ?? "");
    const image = await readInput(env, args[1] ?? "");
    const options = dataOptions(env, flags.extra);
    const results = await attempt(
      `vm.classify on ${id.full} failed`,
      () => modelOf(env, id).vm.classify(image, options),
      id.full,
    );
    if (wantsJson(call)) return writeJson(env.stdout, { results });
    const rows = results.map(({ text, score }) => [text, formatFloat(score)]);
    writeListing(env.stdout, { header: ["Text", "Score"], rows });
  },
});

/** The `vm.generate` command. */
export const vmGenerateCommand = defineCommand({
  name: "vm.generate",
  synopsis: "Generate list of images and scores for the input text.",
  usage:
    "vm.generate [-extra=<extra>] <model ID> <text> <output dir | ->:\n" +
    "\tGenerate images for a text with a published vision model. With a directory, print a\n" +
    "\ttable of the image files (<dir>/0001.PNG, <dir>/0002.PNG, ...) and their scores and\n" +
    "\twrite them there (creating the directory); with '-', write the image bytes to stdout.\n",
  flags: DATA_FLAGS,
  async run(call) {
    const { flags, args, env } = call;
    expectArgs(args, 3, 3, "provide a model ID, a text and an output directory (or - for stdout)");
    const [idText = "", text = "", outputDir = ""] = args;
    const id = modelIdArg(idText);
    const options = dataOptions(env, flags.extra);
    const images = await attempt(
      `vm.generate on ${id.full} failed`,
      () => modelOf(env, id).vm.generate(text, options),
      id.full,
    );
    if (outputDir === "-") {
      for (const { image } of images) env.stdout.write(image);
      return;
    }
    const files = images.map((image, i) => ({
      path: join(outputDir, `${String(i + 1).padStart(4, "0")}.PNG`),
      score: image.score,
    }));
    if (wantsJson(call)) writeJson(env.stdout, { images: files });
    else
      writeListing(env.stdout, {
        header: ["Image", "Score"],
        rows: files.map((f) => [f.path, formatFloat(f.score)]),
      });
    await attempt(
      `cannot save the images of ${id.full} to ${outputDir}`,
      async () => {
        await mkdir(outputDir, { recursive: true, mode: 0o750 });
        for (const [i, file] of files.entries()) {
          await writeFile(file.path, images[i]?.image ?? Buffer.alloc(0), { mode: 0o640 });
          await chmod(file.path, 0o640);
        }
      },
      id.full,
    );
  },
});

/** The `vm.embed` command. */
export const vmEmbedCommand = defineCommand({
  name: "vm.embed",
  synopsis: "Embed an image (as byte array) against a given model.",
  usage:
    "vm.embed [-extra=<extra>] <model ID> <image file | ->:\n" +
    "\tPrint the embedding of an image computed by a published vision model.\n" +
    IMAGE_NOTE,
  flags: DATA_FLAGS,
  async run(call) {
    const { flags, args, env } = call;
    expectArgs(args, 2, 2, "provide a model ID and an image file (or - for stdin)");
    const id = modelIdArg(args[0] ?? "");
    const path = args[1] ?? "";
    const image = await readInput(env, path);
    const options = dataOptions(env, flags.extra);
    const embedding = await attempt(
      `vm.embed on ${id.full} failed`,
      () => modelOf(env, id).vm.embed(image, options),
      id.full,
    );
    const name = path === "-" ? "stdin" : path;
    if (wantsJson(call)) return writeJson(env.stdout, { image: name, embedding });
    writeListing(env.stdout, { header: ["Image", "Embedding"], rows: [[name, joinFloats(embedding)]] });
  },
});

/** The `vm.detect` command. */
export const vmDetectCommand = defineCommand({
  name: "vm.detect",
  synopsis: "Detects objects in an image (as byte array) using a given model.",
  usage:
    "vm.detect [-extra=<extra>] <model ID> <image file | -> [text]...:\n" +
    "\tPrint the objects a published vision model detects in an image: box centre, size,\n" +
    "\tlabel, score and mask size. Texts, if given, name what to look for.\n" +
    IMAGE_NOTE,
  flags: DATA_FLAGS,
  async run(call) {
    const { flags, args, env } = call;
    if (args.length < 2) throw new UsageError("provide a model ID and an image file (or - for stdin)");
    const [idText = "", path = "", ...text] = args;
    const id = modelIdArg(idText);
    const image = await readInput(env, path);
    const options = { ...dataOptions(env, flags.extra), text };
    const boxes = await attempt(
      `vm.detect on ${id.full} failed`,
      () => modelOf(env, id).vm.detect(image, options),
      id.full,
    );
    if (wantsJson(call)) {
      const records = boxes.map(({ mask, ...box }) => ({
        ...box,
        mask: mask && { height: mask.height, width: mask.width },
      }));
      return writeJson(env.stdout, { boxes: records });
    }
    const header = ["CenterX", "CenterY", "Width", "Height", "Text", "Score", "Mask"];
    const rows = boxes.map((box) => [
      formatFloat(box.cx),
      formatFloat(box.cy),
      formatFloat(box.w),
      formatFloat(box.h),
      box.text,
      formatFloat(box.score),
      `${box.mask?.height ?? 0},${box.mask?.width ?? 0}`,
    ]);
    writeListing(env.stdout, { header, rows });
  },
});
