/** The vision facet of a model: `sax.server.vision.VisionService` calls with idiomatic results. */
import {
  ClassifyRequest,
  DetectRequest,
  EmbedRequest,
  TextToImageRequest,
  VisionServiceDefinition,
} from "../gen/sax/vision.js";
import { grpcService } from "../grpc/definitions.js";
import type { DataCaller } from "./data-caller.js";
import { encodeExtraInputs } from "./extra-inputs.js";
import type { DataCallOptions, DetectedBox, DetectOptions, GeneratedImage, ScoredText } from "./types.js";

const VM = grpcService(VisionServiceDefinition);

/** Vision calls of one model. */
export class VmClient {
  /** @internal built by {@link SaxModel} */
  constructor(private readonly caller: DataCaller) {}

  /** Labels of an encoded image (PNG, JPEG, …) with their scores. */
  async classify(image: Uint8Array, options: DataCallOptions = {}): Promise<ScoredText[]> {
    const request = ClassifyRequest.fromPartial({
      modelKey: this.caller.modelId,
      imageBytes: Buffer.from(image),
    });
    request.extraInputs = encodeExtraInputs(options.extraInputs);
    const { texts } = await this.caller.unary(VM.classify, request, options, "vm.classify");
    return texts.map(({ text, score }) => ({ text, score }));
  }

  /** Images generated from `text` (TextToImage), encoded as the model returns them. */
  async generate(text: string, options: DataCallOptions = {}): Promise<GeneratedImage[]> {
    const request = TextToImageRequest.fromPartial({ modelKey: this.caller.modelId, text });
    request.extraInputs = encodeExtraInputs(options.extraInputs);
    const { images } = await this.caller.unary(VM.textToImage, request, options, "vm.generate");
    return images.map(({ image, score }) => ({ image, score }));
  }

  /** The embedding of an encoded image. */
  async embed(image: Uint8Array, options: DataCallOptions = {}): Promise<number[]> {
    const request = EmbedRequest.fromPartial({
      modelKey: this.caller.modelId,
      imageBytes: Buffer.from(image),
    });
    request.extraInputs = encodeExtraInputs(options.extraInputs);
    const { embedding } = await this.caller.unary(VM.embed, request, options, "vm.embed");
    return embedding;
  }

  /** Objects detected in an encoded image, optionally only those matching `options.text`. */
  async detect(image: Uint8Array, options: DetectOptions = {}): Promise<DetectedBox[]> {
    const request = DetectRequest.fromPartial({
      modelKey: this.caller.modelId,
      imageBytes: Buffer.from(image),
      text: [...(options.text ?? [])],
    });
    request.extraInputs = encodeExtraInputs(options.extraInputs);
    const { boundingBoxes } = await this.caller.unary(VM.detect, request, options, "vm.detect");
    return boundingBoxes.map(({ cx, cy, w, h, text, score, mask }) => ({
      cx,
      cy,
      w,
      h,
      text,
      score,
      mask: mask && { height: mask.maskHeight, width: mask.maskWidth, values: mask.maskValues },
    }));
  }
}
