/**
 * The vision service through a cell of real processes: saxutil vm.classify / vm.embed / vm.detect /
 * vm.generate against published vision models (JAX and PyTorch workers, seeded random weights), clear
 * INVALID_ARGUMENT errors for bad image bytes and unsupported methods, and the worker's memory given
 * back on unload, as GetStatus reports it. Needs `npm run build` first (npm test does it).
 */
import { execa } from "execa";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Sax } from "../../src/client/index.js";
import { ModeletDefinition } from "../../src/gen/sax/modelet.js";
import { unaryClient } from "../../src/grpc/client.js";
import { REPO_ROOT, startProcessCell, type ProcessCell } from "../helpers/processes.js";
import { rejection } from "../helpers/sax-error.js";
import { saxutilBin } from "../helpers/saxutil.js";
import { eventually } from "../helpers/test-admin.js";

const MODELS = {
  resnet: { path: "saxml.server.pax.vision.params.resnet.ImageNetResNet50", overrides: {} },
  torchresnet: { path: "saxml.server.torch.classify.ResNetModel", overrides: {} },
  // Random weights score every class about 1/91: keep every box so that the answer has some.
  detector: { path: "saxts.vision.FasterRcnnMobileNet", overrides: { SCORE_THRESHOLD: "0.0" } },
  diffusion: { path: "saxts.vision.TinyDiffusion", overrides: {} },
} as const;
const PYTHON = join(REPO_ROOT, "python-runtime", ".venv", "bin", "python");
const OPTIONS = { timeoutMs: 120_000 };

/** Writes a 300×200 gradient as JPEG, PNG and WebP (lossless) with Pillow, the way clients would. */
async function writeImages(dir: string): Promise<Record<"jpg" | "png" | "webp", string>> {
  const paths = { jpg: join(dir, "cat.jpg"), png: join(dir, "cat.png"), webp: join(dir, "cat.webp") };
  const script = [
    "import sys, numpy as np",
    "from PIL import Image",
    "y, x = np.mgrid[0:200, 0:300]",
    "img = Image.fromarray(np.stack([x * 255 // 299, y * 255 // 199, (x + y) % 256], -1).astype(np.uint8))",
    "img.save(sys.argv[1], quality=95); img.save(sys.argv[2]); img.save(sys.argv[3], lossless=True)",
  ].join("\n");
  await execa(PYTHON, ["-c", script, paths.jpg, paths.png, paths.webp]);
  return paths;
}

describe("vision models through a cell", () => {
  let dir: string;
  let cell: ProcessCell;
  let sax: Sax;
  let images: Record<"jpg" | "png" | "webp", string>;
  let imagenet: Set<string>;
  const saxutil = (...argv: string[]) => saxutilBin(argv, { saxRoot: cell.saxRoot, timeoutMs: 120_000 });
  const json = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sax-vision-"));
    images = await writeImages(dir);
    const labels = await readFile(
      join(REPO_ROOT, "python-runtime/sax_worker/assets/imagenet_classes.txt"),
      "utf8",
    );
    imagenet = new Set(labels.trimEnd().split("\n"));
    cell = await startProcessCell(dir, { modelServerArgs: ["--deterministic_rng"] });
    sax = new Sax({ saxRoot: cell.saxRoot });
    const admin = sax.admin("/sax/test");
    // One at a time: four workers importing torch and JAX at once would starve the other test files
    // running beside this one on two cores.
    for (const [name, { path, overrides }] of Object.entries(MODELS)) {
      const modelId = `/sax/test/${name}`;
      await admin.publish({ modelId, modelPath: path, checkpointPath: "None", numReplicas: 1, overrides });
      await admin.waitForReady(modelId, 1, { timeoutMs: 240_000 });
    }
  }, 600_000);
  afterAll(async () => {
    await sax?.close();
    await cell?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("classifies with the Pax ResNet-50: top-5 ImageNet labels, log-probabilities best first", async () => {
    const { status, stdout, stderr } = await saxutil("--json", "vm.classify", "/sax/test/resnet", images.jpg);
    expect(status, stderr).toBe(0);
    const results = json(stdout).results as { text: string; score: number }[];
    expect(results).toHaveLength(5);
    for (const { text, score } of results) {
      expect(imagenet.has(text), text).toBe(true);
      expect(score).toBeLessThanOrEqual(0);
    }
    const scores = results.map((r) => r.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
  });

  it("reads PNG and WebP as well as JPEG: the same pixels give the same labels", async () => {
    const classify = async (path: string) =>
      sax.model("/sax/test/resnet").vm.classify(await readFile(path), OPTIONS);
    const [png, webp] = await Promise.all([classify(images.png), classify(images.webp)]);
    expect(webp).toEqual(png);
  });

  it("classifies with the torch ResNetModel: top-10 labels with raw logits", async () => {
    const { status, stdout, stderr } = await saxutil(
      "--json",
      "vm.classify",
      "/sax/test/torchresnet",
      images.jpg,
    );
    expect(status, stderr).toBe(0);
    const results = json(stdout).results as { text: string; score: number }[];
    expect(results).toHaveLength(10);
    expect(results.every(({ text }) => imagenet.has(text))).toBe(true);
    const scores = results.map((r) => r.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    // Raw logits of random weights sit near 0; log-probabilities over 1000 near-equal classes near −6.9.
    expect(scores[0]).toBeGreaterThan(-1);
  });

  it("embeds an image into the 2048 pooled ResNet-50 features", async () => {
    const { status, stdout, stderr } = await saxutil("--json", "vm.embed", "/sax/test/resnet", images.png);
    expect(status, stderr).toBe(0);
    const { embedding } = json(stdout) as { embedding: number[] };
    expect(embedding).toHaveLength(2048);
    expect(embedding.every(Number.isFinite)).toBe(true);
  });

  it("detects boxes with COCO labels inside the image", async () => {
    const boxes = await sax.model("/sax/test/detector").vm.detect(await readFile(images.jpg), OPTIONS);
    expect(boxes.length).toBeGreaterThan(0);
    for (const box of boxes) {
      expect(box.text).not.toMatch(/^(N\/A|__background__)?$/);
      expect(box.cx).toBeGreaterThanOrEqual(0);
      expect(box.cx).toBeLessThanOrEqual(300);
      expect(box.cy).toBeLessThanOrEqual(200);
      expect(box.w).toBeGreaterThanOrEqual(0);
    }
    const { status, stdout, stderr } = await saxutil("vm.detect", "/sax/test/detector", images.webp);
    expect(status, stderr).toBe(0);
    expect(stdout).toMatch(
      /\| +CENTERX +\| +CENTERY +\| +WIDTH +\| +HEIGHT +\| +TEXT +\| +SCORE +\| MASK \|/,
    );
  });

  it("generates PNG images from text into 0001.PNG, 0002.PNG", async () => {
    const out = join(dir, "generated");
    const { status, stderr } = await saxutil("vm.generate", "/sax/test/diffusion", "a red fox", out);
    expect(status, stderr).toBe(0);
    expect((await readdir(out)).sort()).toEqual(["0001.PNG", "0002.PNG"]);
    const png = await readFile(join(out, "0001.PNG"));
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([64, 64]); // IHDR width, height
  });

  it("answers undecodable image bytes and unsupported methods with INVALID_ARGUMENT", async () => {
    const vm = sax.model("/sax/test/resnet").vm;
    const badBytes = await rejection(vm.classify(Buffer.from("GIF89a not an image"), OPTIONS));
    expect(badBytes.code).toBe("INVALID_ARGUMENT");
    expect(badBytes.message).toMatch(/not a decodable JPEG, PNG or WebP image/);
    const noDetect = await rejection(vm.detect(await readFile(images.jpg), OPTIONS));
    expect(noDetect.code).toBe("INVALID_ARGUMENT");
    expect(noDetect.message).toMatch(/does not support vm\.detect/);
    // The worker is still serving.
    expect(await vm.classify(await readFile(images.png), OPTIONS)).toHaveLength(5);
  });

  it("gives a torch model's worker memory back on unload, as GetStatus shows", async () => {
    const modelet = unaryClient(ModeletDefinition, cell.server.address);
    try {
      const before = await modelet.getStatus({});
      const worker = before.models.find((m) => m.modelKey === "/sax/test/torchresnet");
      // ResNet-50's 102 MB of float32 weights, torch and the interpreter.
      expect(worker?.workerRssBytes).toBeGreaterThan(150 * 2 ** 20);
      const workersBefore = before.serverStatus?.workersRssBytes ?? 0;
      expect(workersBefore).toBeGreaterThan(worker?.workerRssBytes ?? 0);
      await sax.admin("/sax/test").unpublish("/sax/test/torchresnet");
      const after = await eventually(
        async () => {
          const status = await modelet.getStatus({});
          return status.models.some((m) => m.modelKey === "/sax/test/torchresnet") ? undefined : status;
        },
        60_000,
        "the torch model to be unloaded",
      );
      const freed = workersBefore - (after.serverStatus?.workersRssBytes ?? 0);
      expect(freed).toBeGreaterThan(0.8 * (worker?.workerRssBytes ?? 0));
    } finally {
      modelet.close();
    }
  }, 90_000);
});
