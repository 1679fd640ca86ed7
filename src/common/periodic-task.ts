/**
 * Runs an async task every `intervalMs`, never two runs at once; `trigger()` asks for a run as soon as the
 * current one (if any) ends, coalescing repeated triggers into one run.
 */

/** Options of {@link PeriodicTask}. */
export interface PeriodicTaskOptions {
  readonly intervalMs: number;
  /** Delay before the first run. @default intervalMs */
  readonly initialDelayMs?: number;
  /** Called with a run's error; the task keeps running. */
  readonly onError: (err: unknown) => void;
}

/** A repeating, non-overlapping, triggerable async task. */
export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private rerun = false;
  private stopped = false;

  constructor(
    private readonly task: () => void | Promise<void>,
    private readonly options: PeriodicTaskOptions,
  ) {}

  /** Starts the schedule. */
  start(): void {
    this.schedule(this.options.initialDelayMs ?? this.options.intervalMs);
  }

  /** Runs the task soon; resolves when a run that started after this call has ended. */
  trigger(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      // The running loop sees the flag and runs once more before its promise settles.
      this.rerun = true;
      return this.running;
    }
    return this.runNow();
  }

  /** Stops the schedule and waits for a run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.runNow(), delayMs);
    this.timer.unref();
  }

  private runNow(): Promise<void> {
    clearTimeout(this.timer);
    this.running = (async () => {
      do {
        this.rerun = false;
        try {
          await this.task();
        } catch (err) {
          this.options.onError(err);
        }
      } while (this.rerun && !this.stopped);
      this.running = undefined;
      this.schedule(this.options.intervalMs);
    })();
    return this.running;
  }
}
