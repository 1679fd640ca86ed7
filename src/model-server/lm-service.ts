/**
 * `sax.server.lm.LMService`: translates LM RPCs to worker method payloads (servables/base.py in
 * python-runtime documents them) and back.
 */
import { LMServiceDefinition, type GenerateStreamResponse } from "../gen/sax/lm.js";
import { bindService } from "../grpc/definitions.js";
import { contextOf, unary } from "../grpc/handlers.js";
import { toServiceError } from "../grpc/status.js";
import type { ServiceBinding } from "../grpc/server.js";
import type { DataRouter } from "./data-router.js";
import { asRecord, extraInputsPayload, num, numbers, records, str } from "./payload.js";

/** Binds LMService to a data router. */
export function lmService(router: DataRouter): ServiceBinding {
  return bindService(LMServiceDefinition, {
    score: unary(async (req, ctx) => {
      const payload = {
        prefix: req.prefix,
        suffix: req.suffix.length ? req.suffix : [""],
        extra_inputs: extraInputsPayload(req.extraInputs),
      };
      const res = asRecord(await router.call(req.modelKey, "lm.score", payload, ctx));
      return { logp: numbers(res.logp) };
    }),
    generate: unary(async (req, ctx) => {
      const payload = { text: req.text, extra_inputs: extraInputsPayload(req.extraInputs) };
      const res = asRecord(await router.call(req.modelKey, "lm.generate", payload, ctx));
      return {
        texts: records(res.texts).map((t) => ({ text: str(t.text), score: num(t.score) })),
      };
    }),
    generateStream: (call) => {
      const ctx = contextOf(call);
      const payload = { text: call.request.text, extra_inputs: extraInputsPayload(call.request.extraInputs) };
      const sent: number[] = [];
      void (async () => {
        try {
          for await (const chunk of router.stream(
            call.request.modelKey,
            "lm.generate_stream",
            payload,
            ctx,
          )) {
            call.write(streamMessage(records(asRecord(chunk).items), sent));
          }
          call.end();
        } catch (err) {
          // grpc-js sends the status of an 'error' event; destroy() would drop it and hang the client.
          call.emit("error", toServiceError(err));
        }
      })();
    },
    embed: unary(async (req, ctx) => {
      const payload = { text: req.text, extra_inputs: extraInputsPayload(req.extraInputs) };
      const res = asRecord(await router.call(req.modelKey, "lm.embed", payload, ctx));
      return { embedding: numbers(res.embedding) };
    }),
    gradient: unary(async (req, ctx) => {
      const payload = {
        prefix: req.prefix,
        suffix: req.suffix,
        extra_inputs: extraInputsPayload(req.extraInputs),
      };
      const res = asRecord(await router.call(req.modelKey, "lm.gradient", payload, ctx));
      const gradients = Object.fromEntries(
        Object.entries(asRecord(res.gradients)).map(([k, v]) => [k, { values: numbers(v) }]),
      );
      return { score: numbers(res.score), gradients };
    }),
  });
}

/** One stream message: per item, prefix_len = characters already sent for that item (Python's len()). */
function streamMessage(items: Record<string, unknown>[], sent: number[]): GenerateStreamResponse {
  return {
    items: items.map((item, i) => {
      const text = str(item.text);
      const prefixLen = sent[i] ?? 0;
      sent[i] = prefixLen + [...text].length;
      return { text, prefixLen, score: 0, scores: numbers(item.scores) };
    }),
  };
}
