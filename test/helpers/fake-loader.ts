/**
 * An in-process ModelLoader for model-server tests that need no Python: models answer lm.generate with
 * the upper-cased prompt and lm.generate_stream with one chunk per word.
 */
import { InvalidArgumentError, SaxError } from "../../src/common/errors.js";
import type {
  LoadedModel,
  LoadedModelEvent,
  LoadRequest,
  ModelLoader,
} from "../../src/model-server/model-loader.js";

/** The path the fake knows; any other path fails like an unknown param class. */
export const FAKE_PATH = "saxts.test.Echo";

/** A fake loader whose loads and events a test controls. */
export class FakeLoader implements ModelLoader {
  readonly loads: LoadRequest[] = [];
  readonly unloads: string[] = [];
  /** Delay of every load. */
  loadDelayMs = 0;
  /** Set to make the next loads fail with this INTERNAL reason. */
  failWith: string | undefined;

  async load(request: LoadRequest): Promise<LoadedModel> {
    this.loads.push(request);
    await new Promise((resolve) => setTimeout(resolve, this.loadDelayMs));
    if (request.modelPath !== FAKE_PATH)
      throw new InvalidArgumentError(`Could not find servable model ${request.modelPath}`);
    if (this.failWith !== undefined) throw new SaxError("INTERNAL", this.failWith);
    return {
      methods: new Set(["lm.generate", "lm.generate_stream"]),
      streamingMethods: new Set(["lm.generate_stream"]),
      call: (_method, req) =>
        Promise.resolve({
          texts: [{ text: String((req as { text: string }).text).toUpperCase(), score: -1.5 }],
        }),
      stream: (_method, req) => wordChunks(String((req as { text: string }).text)),
      unload: () => {
        this.unloads.push(request.modelKey);
        return Promise.resolve();
      },
    };
  }

  /** Sends an event to the model most recently loaded under `modelKey`. */
  emit(modelKey: string, event: LoadedModelEvent): void {
    const request = this.loads.filter((l) => l.modelKey === modelKey).at(-1);
    if (!request) throw new Error(`no load of ${modelKey}`);
    request.onEvent(event);
  }
}

/** One stream chunk per word, each awaited like a worker reply; the word `die` fails the stream. */
async function* wordChunks(text: string): AsyncIterable<unknown> {
  for (const word of text.split(" ")) {
    await Promise.resolve();
    if (word === "die") throw new SaxError("UNAVAILABLE", "worker died mid-stream");
    yield { items: [{ text: `${word} `, scores: [-0.5] }] };
  }
}
