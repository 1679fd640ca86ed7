/**
 * `publish -wait`: after the Publish RPC, wait until the requested replicas have loaded the model,
 * showing progress on stderr. Readiness comes from WaitForReady (one call per replica count, so each
 * newly ready replica is reported); the assigned servers come from polling List meanwhile.
 *
 * On a terminal the progress is one status line redrawn in place; otherwise (logs, CI) plain lines are
 * written only when something changes.
 */
import type { SaxAdmin } from "../client/index.js";
import type { OutputStream, SaxutilEnv } from "./command.js";
import { sleep } from "./sleep.js";

/** How often the assigned servers are re-listed while waiting. */
const LIST_POLL_MS = 1_000;
/** How often the terminal status line is redrawn (spinner, elapsed time). */
const REDRAW_MS = 200;

/** Where a wait stands. */
export interface WaitState {
  readonly modelId: string;
  readonly wanted: number;
  readonly ready: number;
  /** Servers the admin assigned the model to (loading, loaded or failed). */
  readonly assigned: readonly string[];
  readonly elapsedMs: number;
}

/** The terminal status line, e.g. `/sax/test/lm: 0/1 replicas ready, loading on 127.0.0.1:4001 (3.2s)`. */
export function statusLine(state: WaitState): string {
  const where =
    state.assigned.length === 0 ? "waiting for a model server" : `assigned to ${state.assigned.join(", ")}`;
  return `${state.modelId}: ${state.ready}/${state.wanted} replicas ready, ${where} (${seconds(state.elapsedMs)})`;
}

/** The plain lines to print when the state changes from `before` to `after`. */
export function changeLines(before: WaitState | undefined, after: WaitState): string[] {
  const lines: string[] = [];
  if (before === undefined) {
    lines.push(`waiting for ${after.wanted} replica(s) of ${after.modelId} to load`);
  }
  const added = after.assigned.filter((address) => !before?.assigned.includes(address));
  if (added.length > 0) lines.push(`${after.modelId}: assigned to ${added.join(", ")}`);
  if (after.ready !== (before?.ready ?? 0)) {
    lines.push(
      `${after.modelId}: ${after.ready}/${after.wanted} replicas ready after ${seconds(after.elapsedMs)}`,
    );
  }
  return lines;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** Draws wait progress on a terminal (one redrawn line) or as plain lines. */
class ProgressView {
  private last: WaitState | undefined;
  private frame = 0;

  constructor(private readonly out: OutputStream) {}

  show(state: WaitState): void {
    if (this.out.isTTY) {
      const spinner = "|/-\\"[this.frame++ % 4] ?? "|";
      this.out.write(`\r\u001b[2K${spinner} ${statusLine(state)}`);
    } else {
      for (const line of changeLines(this.last, state)) this.out.write(`${line}\n`);
    }
    this.last = state;
  }

  finish(state: WaitState): void {
    if (this.out.isTTY) {
      const outcome = state.ready >= state.wanted ? "replicas ready after" : "replicas ready, gave up after";
      this.out.write(
        `\r\u001b[2K${state.modelId}: ${state.ready}/${state.wanted} ${outcome} ${seconds(state.elapsedMs)}\n`,
      );
    } else {
      this.show(state);
    }
  }
}

/**
 * Waits for `wanted` ready replicas of `modelId` within the command's deadline, showing progress on
 * `env.stderr`. Rejects with the WaitForReady error (DEADLINE_EXCEEDED, or CANCELLED if the model is
 * unpublished meanwhile).
 */
export async function waitForReplicas(
  env: SaxutilEnv,
  admin: SaxAdmin,
  modelId: string,
  wanted: number,
): Promise<void> {
  const started = Date.now();
  const view = new ProgressView(env.stderr);
  let ready = 0;
  let assigned: readonly string[] = [];
  const state = (): WaitState => ({ modelId, wanted, ready, assigned, elapsedMs: Date.now() - started });
  const stop = new AbortController();
  const poll = (async () => {
    while (!stop.signal.aborted) {
      try {
        const options = { ...env.deadline(), signal: stop.signal };
        assigned = [...(await admin.list(modelId, options)).modeletAddresses].sort();
        view.show(state());
      } catch {
        // Progress only: the wait itself reports failures.
      }
      await sleep(LIST_POLL_MS, stop.signal);
    }
  })();
  const redraw = env.stderr.isTTY ? setInterval(() => view.show(state()), REDRAW_MS) : undefined;
  try {
    view.show(state());
    for (let count = 1; count <= wanted; count++) {
      await admin.waitForReady(modelId, count, env.deadline());
      ready = count;
      view.show(state());
    }
  } finally {
    clearInterval(redraw);
    stop.abort();
    await poll;
    view.finish(state());
  }
}
