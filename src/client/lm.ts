/** The language-model facet of a model: `sax.server.lm.LMService` calls with idiomatic results. */
import {
  EmbedRequest,
  GenerateRequest,
  GradientRequest,
  LMServiceDefinition,
  ScoreRequest,
} from "../gen/sax/lm.js";
import { grpcService } from "../grpc/definitions.js";
import type { DataCaller } from "./data-caller.js";
import { encodeExtraInputs } from "./extra-inputs.js";
import type { DataCallOptions, GradientResult, ScoredText, StreamedSample } from "./types.js";

const LM = grpcService(LMServiceDefinition);

/** Language-model calls of one model. */
export class LmClient {
  /** @internal built by {@link SaxModel} */
  constructor(private readonly caller: DataCaller) {}

  /** Samples continuations of `text`, in the order the model returns them. */
  async generate(text: string, options: DataCallOptions = {}): Promise<ScoredText[]> {
    const request = GenerateRequest.fromPartial({ modelKey: this.caller.modelId, text });
    request.extraInputs = encodeExtraInputs(options.extraInputs);
    const { texts } = await this.caller.unary(LM.generate, request, options, "lm.generate");
    return texts.map(({ text, score }) => ({ text, score }));
  }

  /**
   * Streams continuations of `text`: one array per stream message, one entry per sample. Breaking out of
   * the loop (or aborting `options.signal`) cancels the call on the model server.
   */
  async *generateStream(text: string, options: DataCallOptions = {}): AsyncIterable<StreamedSample[]> {
    const request = GenerateRequest.fromPartial({ modelKey: this.caller.modelId, text });
    request.extraInputs = encodeExtraInputs(options.extraInputs);
    for await (const { items } of this.caller.stream(
      LM.generateStream,
      request,
      options,
      "lm.generate_stream",
    )) {
      yield items.map((item) => ({
        text: item.text,
        prefixLen: item.prefixLen,
        // Servers predating `scores` only fill the deprecated single score.
        scores: item.scores.length > 0 ? [...item.scores] : [item.score],
      }));
    }
  }

  /** Log probabilities of each suffix after `prefix`. */
  async score(prefix: string, suffixes: readonly string[], options: DataCallOptions = {}): Promise<number[]> {
    const request = ScoreRequest.fromPartial({
      modelKey: this.caller.modelId,
      prefix,
      suffix: [...suffixes],
    });
    request.extraInputs = encodeExtraInputs(options.extraInputs);
    const { logp } = await this.caller.unary(LM.score, request, options, "lm.score");
    return logp;
  }

  /** The embedding of `text`. */
  async embed(text: string, options: DataCallOptions = {}): Promise<number[]> {
    const request = EmbedRequest.fromPartial({ modelKey: this.caller.modelId, text });
    request.extraInputs = encodeExtraInputs(options.extraInputs);
    const { embedding } = await this.caller.unary(LM.embed, request, options, "lm.embed");
    return embedding;
  }

  /** Scores of `suffix` after `prefix` and the gradients of the model's inputs, by input name. */
  async gradient(prefix: string, suffix: string, options: DataCallOptions = {}): Promise<GradientResult> {
    const request = GradientRequest.fromPartial({ modelKey: this.caller.modelId, prefix, suffix });
    request.extraInputs = encodeExtraInputs(options.extraInputs);
    const response = await this.caller.unary(LM.gradient, request, options, "lm.gradient");
    const gradients = Object.fromEntries(
      Object.entries(response.gradients).map(([name, gradient]) => [name, gradient.values]),
    );
    return { score: response.score, gradients };
  }
}
