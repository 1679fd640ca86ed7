/**
 * Keeps a model server joined to its cell's admin: reads `location.proto` every `locationPollMs` and Joins
 * when the admin's address changed, and again every `rejoinIntervalMs` (Join is idempotent, and an admin
 * restarted on the same address only learns about us from a new Join). A Join whose admin-side dial of us
 * timed out (DEADLINE_EXCEEDED/CANCELLED) is retried with backoff for up to a minute, as Saxml does.
 */
import { readLocation } from "../common/cell-layout.js";
import { isSaxError } from "../common/errors.js";
import type { FsRoot } from "../common/fs-root.js";
import type { Logger } from "../common/log.js";
import type { CellId } from "../common/naming.js";
import { PeriodicTask } from "../common/periodic-task.js";
import { AdminDefinition, type ModelServer } from "../gen/sax/admin.js";
import { unaryClient } from "../grpc/client.js";

/** What to join with and how often. */
export interface JoinerOptions {
  readonly saxRoot: FsRoot;
  readonly cell: CellId;
  /** This server's Modelet address, `ip:port`. */
  readonly address: string;
  /** The spec sent in Join; evaluated at each Join so it may change. */
  readonly spec: () => ModelServer;
  readonly locationPollMs: number;
  readonly rejoinIntervalMs: number;
  readonly log: Logger;
}

const JOIN_CALL_TIMEOUT_MS = 10_000;
const JOIN_RETRY_BUDGET_MS = 60_000;

/** Joins the admin and follows it when it moves. */
export class Joiner {
  private joinedAddress: string | undefined;
  private lastJoinMs = 0;
  private readonly task: PeriodicTask;

  constructor(private readonly options: JoinerOptions) {
    this.task = new PeriodicTask(() => this.check(), {
      intervalMs: options.locationPollMs,
      initialDelayMs: 0,
      onError: (err) => options.log.warn(`joining ${options.cell.full} failed: ${(err as Error).message}`),
    });
  }

  /** The admin address of the last successful Join, if any. */
  get adminAddress(): string | undefined {
    return this.joinedAddress;
  }

  start(): void {
    this.task.start();
  }

  /** Checks the location now and joins if due; resolves when done. */
  checkNow(): Promise<void> {
    return this.task.trigger();
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  private async check(): Promise<void> {
    let location: string;
    try {
      location = await readLocation(this.options.saxRoot, this.options.cell);
    } catch (err) {
      if (isSaxError(err, "FAILED_PRECONDITION")) return this.options.log.debug((err as Error).message);
      throw err;
    }
    const due = Date.now() - this.lastJoinMs >= this.options.rejoinIntervalMs;
    if (location === this.joinedAddress && !due) return;
    await this.joinWithRetries(location);
    if (location !== this.joinedAddress) this.options.log.info(`Joined ${location}`);
    this.joinedAddress = location;
    this.lastJoinMs = Date.now();
  }

  private async joinWithRetries(adminAddress: string): Promise<void> {
    const client = unaryClient(AdminDefinition, adminAddress);
    const giveUpAt = Date.now() + JOIN_RETRY_BUDGET_MS;
    try {
      for (let delayMs = 100; ; delayMs = Math.min(delayMs * 2, 5_000)) {
        try {
          const request = { address: this.options.address, modelServer: this.options.spec() };
          await client.join(request, { timeoutMs: JOIN_CALL_TIMEOUT_MS });
          return;
        } catch (err) {
          const retriable = isSaxError(err, "DEADLINE_EXCEEDED") || isSaxError(err, "CANCELLED");
          if (!retriable || Date.now() + delayMs > giveUpAt) throw err;
          await new Promise((resolve) => setTimeout(resolve, delayMs * (0.5 + Math.random())));
        }
      }
    } finally {
      client.close();
    }
  }
}
