/**
 * `sax.server.vision.VisionService`: translates vision RPCs to worker method payloads (snake_case
 * fields of vision.proto, bytes as msgpack bin) and back. Each RPC maps to one `vm.*` method.
 */
import { VisionServiceDefinition, type BoundingBox } from "../gen/sax/vision.js";
import { bindService } from "../grpc/definitions.js";
import { unary } from "../grpc/handlers.js";
import type { ServiceBinding } from "../grpc/server.js";
import type { DataRouter } from "./data-router.js";
import { asRecord, bytes, extraInputsPayload, num, numbers, records, str } from "./payload.js";

const decodedTexts = (res: Record<string, unknown>) =>
  records(res.texts).map((t) => ({ text: str(t.text), score: num(t.score) }));
const generatedImages = (res: Record<string, unknown>) =>
  records(res.images).map((i) => ({ image: bytes(i.image), score: num(i.score) }));
const frames = (value: unknown) => (Array.isArray(value) ? value.map((f) => bytes(f)) : []);

function boundingBox(box: Record<string, unknown>): BoundingBox {
  const mask = box.mask === undefined || box.mask === null ? undefined : asRecord(box.mask);
  return {
    cx: num(box.cx),
    cy: num(box.cy),
    w: num(box.w),
    h: num(box.h),
    text: str(box.text),
    score: num(box.score),
    mask: mask && {
      maskValues: bytes(mask.mask_values),
      maskHeight: num(mask.mask_height),
      maskWidth: num(mask.mask_width),
    },
  };
}

/** Binds VisionService to a data router. */
export function visionService(router: DataRouter): ServiceBinding {
  const run = async (
    modelKey: string,
    method: string,
    payload: Record<string, unknown>,
    signal: AbortSignal,
  ) => asRecord(await router.call(modelKey, method, payload, { signal }));
  return bindService(VisionServiceDefinition, {
    classify: unary(async (req, { signal }) => {
      const payload = { image_bytes: req.imageBytes, extra_inputs: extraInputsPayload(req.extraInputs) };
      return { texts: decodedTexts(await run(req.modelKey, "vm.classify", payload, signal)) };
    }),
    textToImage: unary(async (req, { signal }) => {
      const payload = { text: req.text, extra_inputs: extraInputsPayload(req.extraInputs) };
      return { images: generatedImages(await run(req.modelKey, "vm.generate", payload, signal)) };
    }),
    textAndImageToImage: unary(async (req, { signal }) => {
      const payload = {
        text: req.text,
        image_bytes: req.imageBytes,
        extra_inputs: extraInputsPayload(req.extraInputs),
      };
      return {
        images: generatedImages(await run(req.modelKey, "vm.text_and_image_to_image", payload, signal)),
      };
    }),
    embed: unary(async (req, { signal }) => {
      const payload = { image_bytes: req.imageBytes, extra_inputs: extraInputsPayload(req.extraInputs) };
      return { embedding: numbers((await run(req.modelKey, "vm.embed", payload, signal)).embedding) };
    }),
    detect: unary(async (req, { signal }) => {
      const boxes = req.boxesOfInterest.map(({ cx, cy, w, h, text, score }) => ({
        cx,
        cy,
        w,
        h,
        text,
        score,
      }));
      const payload = {
        image_bytes: req.imageBytes,
        text: req.text,
        boxes,
        extra_inputs: extraInputsPayload(req.extraInputs),
      };
      const res = await run(req.modelKey, "vm.detect", payload, signal);
      return { boundingBoxes: records(res.bounding_boxes).map(boundingBox) };
    }),
    imageToText: unary(async (req, { signal }) => {
      const payload = {
        image_bytes: req.imageBytes,
        text: req.text,
        extra_inputs: extraInputsPayload(req.extraInputs),
      };
      return { texts: decodedTexts(await run(req.modelKey, "vm.image_to_text", payload, signal)) };
    }),
    imageToImage: unary(async (req, { signal }) => {
      const payload = { image_bytes: req.imageBytes, extra_inputs: extraInputsPayload(req.extraInputs) };
      return { images: generatedImages(await run(req.modelKey, "vm.image_to_image", payload, signal)) };
    }),
    videoToText: unary(async (req, { signal }) => {
      const payload = {
        image_frames: req.imageFrames,
        text: req.text,
        extra_inputs: extraInputsPayload(req.extraInputs),
      };
      return { texts: decodedTexts(await run(req.modelKey, "vm.video_to_text", payload, signal)) };
    }),
    videoToToken: unary(async (req, { signal }) => {
      const payload = { image_frames: req.imageFrames, extra_inputs: extraInputsPayload(req.extraInputs) };
      return { tokens: numbers((await run(req.modelKey, "vm.video_to_token", payload, signal)).tokens) };
    }),
    tokenToVideo: unary(async (req, { signal }) => {
      const payload = { tokens: req.tokens, extra_inputs: extraInputsPayload(req.extraInputs) };
      return {
        imageFrames: frames((await run(req.modelKey, "vm.token_to_video", payload, signal)).image_frames),
      };
    }),
  });
}
