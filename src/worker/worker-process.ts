/**
 * One incarnation of a worker: a bound socket, a Python child process, and the channel between them.
 *
 * start() binds the socket, spawns `python -m sax_worker --endpoint … --worker-id …`, and races the
 * READY handshake against the process's exit and a timeout; when READY loses, the process is killed and
 * the error carries the last lines it printed. Afterwards, whenever the process ends, the channel is
 * closed with a WorkerDiedError, which fails every request still pending.
 */
import { execa, type ResultPromise } from "execa";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { SaxError } from "../common/errors.js";
import type { Logger } from "../common/log.js";
import { WorkerDiedError, type WorkerExit } from "./errors.js";
import { PROTOCOL_VERSION, majorVersion, type ReadyMessage } from "./protocol.js";
import { ZmqTransport } from "./transport.js";
import { WorkerChannel } from "./worker-channel.js";

/** What one incarnation needs. */
export interface WorkerProcessOptions {
  readonly workerId: string;
  readonly model: string | undefined;
  readonly endpoint: string;
  readonly pythonPath: string;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly readyTimeoutMs: number;
  readonly stderrTailLines: number;
  readonly logger: Logger;
}

/** A started worker process that has said READY. */
export class WorkerProcess {
  /** Resolves when the process has ended (never rejects). */
  readonly exited: Promise<WorkerExit>;
  private readonly tail: string[] = [];
  private stopping: Promise<WorkerExit> | undefined;
  private exit: WorkerExit | undefined;

  /** The conversation with the process. */
  readonly channel: WorkerChannel;

  private constructor(
    private readonly options: WorkerProcessOptions,
    private readonly child: ResultPromise,
    transport: ZmqTransport,
  ) {
    this.channel = new WorkerChannel(transport, {
      workerId: options.workerId,
      model: options.model,
      logger: options.logger,
      // A worker that breaks the protocol cannot be trusted with more requests.
      onProtocolError: () => void this.kill(),
    });
    this.captureOutput(child.stderr);
    this.captureOutput(child.stdout);
    this.exited = child.then(exitOf, (err: unknown) => ({
      exitCode: undefined,
      signal: undefined,
      spawnError: String(err),
    }));
    void this.exited.then((exit) => {
      this.exit = exit;
      const stopped = new SaxError("UNAVAILABLE", `worker ${options.workerId} was stopped`);
      this.channel.close(this.stopping ? stopped : this.diedError(exit));
    });
  }

  /** Spawns a worker and waits for READY; on failure nothing is left running. */
  static async start(options: WorkerProcessOptions): Promise<WorkerProcess> {
    const transport = await ZmqTransport.bind(options.endpoint);
    const args = ["-m", "sax_worker", "--endpoint", options.endpoint, "--worker-id", options.workerId];
    args.push("--supervisor-pid", String(process.pid));
    const child = execa(options.pythonPath, args, {
      cwd: options.cwd,
      env: { PYTHONUNBUFFERED: "1", ...options.env },
      stdin: "ignore",
      buffer: false,
      reject: false,
    });
    const proc = new WorkerProcess(options, child, transport);
    try {
      await proc.handshake();
    } catch (err) {
      await proc.kill();
      throw err;
    }
    return proc;
  }

  /** The process id. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The last lines the worker printed, oldest first. */
  stderrTail(): readonly string[] {
    return [...this.tail];
  }

  /** Ends the process: `shutdown`, then SIGKILL after `timeoutMs`. Idempotent. */
  stop(timeoutMs: number): Promise<WorkerExit> {
    this.stopping ??= this.shutdownThenKill(timeoutMs);
    return this.stopping;
  }

  /** SIGKILLs the process (if still running) and waits for it to end. */
  async kill(): Promise<WorkerExit> {
    if (this.exit === undefined) this.child.kill("SIGKILL");
    return this.exited;
  }

  private async shutdownThenKill(timeoutMs: number): Promise<WorkerExit> {
    if (this.exit !== undefined) return this.exit;
    await this.channel.shutdown().catch(() => undefined);
    const timer = sleep(timeoutMs, undefined, { ref: false }).then(() => undefined);
    const exit = await Promise.race([this.exited, timer]);
    if (exit !== undefined) return exit;
    this.options.logger.warn(
      `worker ${this.options.workerId} ignored shutdown for ${timeoutMs} ms; killing it`,
    );
    return this.kill();
  }

  /** READY vs the process's exit vs the timeout; the loser's error names what happened. */
  private async handshake(): Promise<ReadyMessage> {
    const { workerId, readyTimeoutMs } = this.options;
    let timer: NodeJS.Timeout | undefined;
    const ready = await new Promise<ReadyMessage>((resolve, reject) => {
      timer = setTimeout(() => {
        const tail = this.tail.length ? this.tail.join(" | ") : "none";
        const what = `did not report ready within ${readyTimeoutMs} ms (readyTimeoutMs)`;
        reject(new SaxError("DEADLINE_EXCEEDED", `worker ${workerId} ${what}; last output: ${tail}`));
      }, readyTimeoutMs);
      void this.exited.then((exit) => reject(this.diedError(exit)));
      this.channel.ready.then(resolve, reject);
    }).finally(() => clearTimeout(timer));
    this.checkReady(ready);
    this.options.logger.info(`worker ${workerId} (pid ${ready.pid}) ready, protocol ${ready.version}`);
    return ready;
  }

  private checkReady(ready: ReadyMessage): void {
    const { workerId } = this.options;
    if (majorVersion(ready.version) !== majorVersion(PROTOCOL_VERSION)) {
      throw new SaxError(
        "FAILED_PRECONDITION",
        `worker ${workerId} speaks protocol ${ready.version} but this server speaks ${PROTOCOL_VERSION}; ` +
          "reinstall python-runtime (python-runtime/scripts/setup-venv) from the same checkout",
      );
    }
    if (ready.worker_id !== workerId) {
      throw new SaxError("FAILED_PRECONDITION", `worker ${workerId} got READY from ${ready.worker_id}`);
    }
  }

  private captureOutput(stream: Readable | null): void {
    if (!stream) return;
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    lines.on("line", (line) => {
      this.tail.push(line);
      if (this.tail.length > this.options.stderrTailLines) this.tail.shift();
      this.options.logger.info(line);
    });
  }

  private diedError(exit: WorkerExit): WorkerDiedError {
    return new WorkerDiedError({
      ...exit,
      workerId: this.options.workerId,
      model: this.options.model,
      pid: this.pid,
      stderrTail: this.stderrTail(),
      fatalMessage: this.channel.fatalMessage,
    });
  }
}

function exitOf(result: { exitCode?: number; signal?: string; originalMessage?: string }): WorkerExit {
  const { exitCode, signal } = result;
  const spawnError = exitCode === undefined && signal === undefined ? result.originalMessage : undefined;
  return { exitCode, signal, spawnError };
}
