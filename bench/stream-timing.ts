/**
 * Per-request timings of one GenerateStream call, from the arrival times of its messages.
 *
 * Counting tokens from the client side: a stream message carries one decode step per sample when the
 * servable streams every step (STREAM_INTERVAL_STEPS 1, as TinyLlama and LmCloudSpmd2BTest do). Text
 * alone undercounts: a byte-level tokenizer withholds the bytes of an incomplete UTF-8 character (random
 * weights emit many), so such a step arrives as a message with empty text. A step's score, the log
 * probability of its token, is negative however, while the closing flush message and rows that already
 * ended carry a score of 0. So when a stream carries any non-zero score, a sample counts a token in a
 * message exactly when its score there is non-zero; a stream without scores falls back to counting
 * messages with non-empty text. With STREAM_INTERVAL_STEPS above 1 both rules count steps, not tokens:
 * a floor.
 */
import type { StreamedSample } from "../src/client/index.js";

/** One received stream message and when it arrived, in ms since the request was sent. */
export interface TimedMessage {
  readonly atMs: number;
  readonly samples: readonly Pick<StreamedSample, "text" | "scores">[];
}

/** What one streamed request measured. */
export interface StreamTiming {
  /** Time to the first message carrying a token; null when none did. */
  readonly ttftMs: number | null;
  /** Mean time between token-carrying messages after the first; null with fewer than two. */
  readonly tpotMs: number | null;
  /** Generated tokens, summed over samples (see the module comment for how they are counted). */
  readonly tokens: number;
  /** Messages that carried at least one sample's token: decode steps seen. */
  readonly steps: number;
  /** Time until the stream ended. */
  readonly totalMs: number;
}

const hasNonZeroScore = (sample: Pick<StreamedSample, "scores">) =>
  sample.scores.some((score) => Number.isFinite(score) && score !== 0);

/** Timings of one stream from its messages (in arrival order) and the time it ended. */
export function streamTiming(messages: readonly TimedMessage[], totalMs: number): StreamTiming {
  const scored = messages.some((message) => message.samples.some(hasNonZeroScore));
  const carries = scored ? hasNonZeroScore : (sample: Pick<StreamedSample, "text">) => sample.text !== "";
  let tokens = 0;
  const stepTimes: number[] = [];
  for (const message of messages) {
    const count = message.samples.filter(carries).length;
    if (count === 0) continue;
    tokens += count;
    stepTimes.push(message.atMs);
  }
  const first = stepTimes[0];
  const last = stepTimes[stepTimes.length - 1];
  const tpotMs =
    first !== undefined && last !== undefined && stepTimes.length >= 2
      ? (last - first) / (stepTimes.length - 1)
      : null;
  return { ttftMs: first ?? null, tpotMs, tokens, steps: stepTimes.length, totalMs };
}
