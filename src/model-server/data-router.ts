/**
 * Routes a data call to the worker holding its model: finds a LOADED model (NOT_FOUND otherwise, which
 * Sax clients retry while a model loads), checks the method, and records per-method statistics.
 */
import { InvalidArgumentError, SaxError } from "../common/errors.js";
import { ModelStatus } from "../gen/sax/common.js";
import type { CallOptions } from "../grpc/client.js";
import type { LoadedModel } from "./model-loader.js";
import type { ModelEntry, ModelTable } from "./model-table.js";

/** Sends data calls to the workers of a model table. */
export class DataRouter {
  constructor(private readonly table: ModelTable) {}

  /** Runs a unary method of a model. */
  async call(modelKey: string, method: string, request: unknown, options: CallOptions): Promise<unknown> {
    const { loaded, entry } = this.target(modelKey, method, false);
    const stats = entry.stats.get(method);
    const done = stats?.begin();
    try {
      const response = await loaded.call(method, request, options);
      // Workers run each request as a batch of its own until the batching scheduler lands.
      stats?.recordBatch(1);
      done?.(true);
      return response;
    } catch (err) {
      done?.(false);
      throw err;
    }
  }

  /** Runs a streaming method of a model, chunk by chunk. */
  async *stream(
    modelKey: string,
    method: string,
    request: unknown,
    options: CallOptions,
  ): AsyncIterable<unknown> {
    const { loaded, entry } = this.target(modelKey, method, true);
    const stats = entry.stats.get(method);
    const done = stats?.begin();
    try {
      yield* loaded.stream(method, request, options);
      stats?.recordBatch(1);
      done?.(true);
    } catch (err) {
      done?.(false);
      throw err;
    }
  }

  private target(
    modelKey: string,
    method: string,
    streaming: boolean,
  ): { loaded: LoadedModel; entry: ModelEntry } {
    const entry = this.table.get(modelKey);
    if (!entry || entry.status !== ModelStatus.LOADED || !entry.loaded) {
      const available = this.table.keys().filter((k) => this.table.get(k)?.status === ModelStatus.LOADED);
      throw new SaxError(
        "NOT_FOUND",
        `${modelKey} is still loading or already unloaded. Available models: ${available.join(", ") || "none"}`,
        { model: modelKey, method },
      );
    }
    const loaded = entry.loaded;
    if (!loaded.methods.has(method)) {
      throw new InvalidArgumentError(`${modelKey} does not support ${method}`, { model: modelKey, method });
    }
    if (streaming !== loaded.streamingMethods.has(method)) {
      const how = streaming ? "streaming" : "unary";
      throw new InvalidArgumentError(`${modelKey} does not support ${method} as a ${how} call`, {
        model: modelKey,
        method,
      });
    }
    return { loaded, entry };
  }
}
