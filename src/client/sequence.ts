/** One deadline for a sequence of calls (List then Update): each call gets the time that is left. */
import type { CallOptions } from "./types.js";

/** Returns a function giving the options of the next call of a sequence started now. */
export function sequenceOf(options: CallOptions): () => CallOptions {
  const deadlineMs = options.timeoutMs === undefined ? undefined : Date.now() + options.timeoutMs;
  return () => ({
    signal: options.signal,
    timeoutMs: deadlineMs === undefined ? undefined : Math.max(0, deadlineMs - Date.now()),
  });
}
