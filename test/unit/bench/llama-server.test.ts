import { describe, expect, it } from "vitest";
import {
  completionRequest,
  completionTiming,
  llamaServerArgs,
  parseCompletionEvent,
  runLlamaServerPeer,
  slotContext,
  takeSseEvents,
  type CompletionEvent,
  type TimedCompletionEvent,
} from "../../../bench/llama-server.js";

const token = (atMs: number, predicted: number, content = "x"): TimedCompletionEvent => ({
  atMs,
  event: { content, tokens: [7], stop: false, tokens_predicted: predicted },
});
const final = (atMs: number, predicted: number, changes: Partial<CompletionEvent> = {}) => ({
  atMs,
  event: {
    content: "",
    tokens: [],
    stop: true,
    tokens_predicted: predicted,
    tokens_evaluated: 3,
    stop_type: "limit",
    ...changes,
  },
});
const expected = { newTokens: 3, promptTokens: 3 };

describe("takeSseEvents", () => {
  it("returns the data of complete events and keeps the incomplete rest", () => {
    const { data, rest } = takeSseEvents('data: {"a":1}\n\n: ping\n\ndata: {"b":\ndata: 2}\n\ndata: {"c"');

    expect(data).toEqual(['{"a":1}', '{"b":\n2}']);
    expect(rest).toBe('data: {"c"');
  });

  it("reassembles an event split across chunks", () => {
    const first = takeSseEvents('data: {"tok');
    const second = takeSseEvents(`${first.rest}ens":[]}\n\n`);

    expect([first.data, second.data, second.rest]).toEqual([[], ['{"tokens":[]}'], ""]);
  });
});

describe("parseCompletionEvent", () => {
  it("parses a token event and keeps unknown fields", () => {
    const event = parseCompletionEvent(
      '{"index":0,"content":" the","tokens":[278],"stop":false,"id_slot":0,"tokens_predicted":1}',
    );

    expect(event).toMatchObject({
      content: " the",
      tokens: [278],
      stop: false,
      tokens_predicted: 1,
      id_slot: 0,
    });
  });

  it("throws the server's message for an error event", () => {
    expect(() => parseCompletionEvent('{"error":{"code":500,"message":"context full"}}')).toThrow(
      /llama-server streamed an error: .*context full/,
    );
  });

  it("names the field of an event with the wrong shape", () => {
    expect(() => parseCompletionEvent('{"content":"a","stop":false}')).toThrow(/tokens_predicted/);
  });
});

describe("completionTiming", () => {
  it("times one message per token event and checks the final event", () => {
    const timing = completionTiming([token(10, 1), token(14, 2), token(18, 3), final(19, 3)], 20, expected);

    expect(timing).toEqual({ ttftMs: 10, tpotMs: 4, tokens: 3, steps: 3, totalMs: 20 });
  });

  it("counts tokens held back inside a UTF-8 character when the next event delivers them", () => {
    const timing = completionTiming([token(10, 1, ""), token(16, 3, "é"), final(17, 3)], 18, expected);

    expect(timing).toMatchObject({ ttftMs: 10, tpotMs: 6, tokens: 3, steps: 2 });
  });

  it("counts tokens that only the final event reports", () => {
    const timing = completionTiming([token(10, 1), token(12, 2), final(15, 3)], 15, expected);

    expect(timing).toMatchObject({ tokens: 3, steps: 3, tpotMs: 2.5 });
  });

  it("rejects a stream that stopped short of the requested tokens", () => {
    const events = [token(10, 1), token(12, 2), final(13, 2, { stop_type: "eos" })];

    expect(() => completionTiming(events, 13, expected)).toThrow(
      "llama-server predicted 2 tokens (stop_type eos), not the 3 requested",
    );
  });

  it("rejects a prompt that was not evaluated as sent", () => {
    const events = [token(10, 1), token(12, 2), token(14, 3), final(15, 3, { tokens_evaluated: 4 })];

    expect(() => completionTiming(events, 15, expected)).toThrow(
      "llama-server evaluated 4 prompt tokens, not the 3 sent",
    );
  });

  it("rejects a stream without its final event", () => {
    expect(() => completionTiming([token(10, 1)], 11, expected)).toThrow(/without its final event/);
  });
});

describe("llamaServerArgs", () => {
  it("splits slots times the per-slot context among the slots on loopback", () => {
    const args = llamaServerArgs({ gguf: "/m.gguf", port: 4321, slots: 8, slotContext: 256, threads: 2 });

    expect(args).toEqual([
      ...["-m", "/m.gguf", "--host", "127.0.0.1", "--port", "4321", "-np", "8", "-c", "2048"],
      ...["-t", "2", "-tb", "2", "--no-webui"],
    ]);
  });
});

describe("slotContext", () => {
  it("holds the longest prompt, the new tokens and a spare cell, rounded up to 256 cells", () => {
    const prompts = (...lengths: number[]) => lengths.map((n) => Array.from({ length: n }, () => 1));

    expect(slotContext(prompts(3, 7), 32)).toBe(256);
    expect(slotContext(prompts(223), 32)).toBe(256);
    expect(slotContext(prompts(224), 32)).toBe(512);
  });
});

describe("completionRequest", () => {
  it("asks for exactly the new tokens, greedily, streamed, without the prompt cache", () => {
    expect(completionRequest([1, 580], 32)).toEqual({
      prompt: [1, 580],
      n_predict: 32,
      temperature: 0,
      top_k: 1,
      ignore_eos: true,
      cache_prompt: false,
      stream: true,
    });
  });
});

describe("runLlamaServerPeer", () => {
  it("reports a missing binary as the peer's error without starting anything", async () => {
    const outcome = await runLlamaServerPeer(
      {
        binary: "/nonexistent/llama-server",
        gguf: "/nonexistent/model.gguf",
        promptIds: [[1, 2]],
        maxNewTokens: 4,
        levels: [1],
        levelDurationMs: 10,
        requestTimeoutMs: 10,
      },
      () => undefined,
    );

    expect(outcome).toEqual({ error: "the llama-server binary /nonexistent/llama-server is missing" });
  });
});
