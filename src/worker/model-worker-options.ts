/**
 * Options of a ModelWorker, and their one normalisation into ResolvedModelWorkerOptions.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createLogger, type Logger } from "../common/log.js";
import type { Payload } from "./protocol.js";
import type { WorkerStateChange } from "./worker-state.js";

/** The python-runtime directory of this checkout (src/worker and dist/worker both sit two levels down). */
export const PYTHON_RUNTIME_DIR = fileURLToPath(new URL("../../python-runtime", import.meta.url));

/** What the worker is asked to load. */
export interface LoadSpec {
  /** Servable config; `kind` selects the builder in sax_worker/servables/registry.py. */
  config: Payload;
  /** Checkpoint path, or `"None"` for random weights where the servable allows it. */
  checkpoint: string;
  /** RNG seed. @default 0 */
  seed?: number;
}

/** When and how often a dead worker is restarted. */
export interface RestartPolicy {
  /** Consecutive failed restarts after which the worker becomes `failed`. @default 5 */
  maxConsecutiveFailures: number;
  /** Wait before the first restart. @default 200 */
  initialBackoffMs: number;
  /** Growth factor of the wait per consecutive failure. @default 2 */
  multiplier: number;
  /** Upper bound of the wait. @default 10000 */
  maxBackoffMs: number;
}

/** Options of ModelWorker.start. */
export interface ModelWorkerOptions {
  /** Unique among this server's workers; passed as `--worker-id` and used in logs and errors. */
  workerId: string;
  /** Model key the worker serves, for error details. @default undefined */
  model?: string;
  /** What to load, at start and after every restart. */
  load: LoadSpec;
  /** Python interpreter. @default python-runtime/.venv/bin/python */
  pythonPath?: string;
  /** Working directory of the worker. @default python-runtime */
  cwd?: string;
  /** Extra environment variables for the worker (on top of this process's environment). */
  env?: Record<string, string>;
  /** Time allowed from spawn to READY. @default 30000 */
  readyTimeoutMs?: number;
  /** Time allowed for `load`. @default undefined (none: big checkpoints take long) */
  loadTimeoutMs?: number;
  /** During stop(), how long in-flight requests may run before the worker is told to shut down. @default 10000 */
  stopGraceMs?: number;
  /** During stop(), how long after `shutdown` the process may take to exit before SIGKILL. @default 5000 */
  shutdownTimeoutMs?: number;
  /** Restart policy overrides. */
  restart?: Partial<RestartPolicy>;
  /** Lines of worker stderr kept for error reports. @default 20 */
  stderrTailLines?: number;
  /** Called on every state transition (synchronously; exceptions are logged and ignored). */
  onStateChange?: (change: WorkerStateChange) => void;
  /** Where worker output and lifecycle events go. @default createLogger("worker/<workerId>") */
  logger?: Logger;
}

/** ModelWorkerOptions with every default applied. */
export interface ResolvedModelWorkerOptions {
  readonly workerId: string;
  readonly model: string | undefined;
  readonly load: Required<LoadSpec>;
  readonly pythonPath: string;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly readyTimeoutMs: number;
  readonly loadTimeoutMs: number | undefined;
  readonly stopGraceMs: number;
  readonly shutdownTimeoutMs: number;
  readonly restart: Readonly<RestartPolicy>;
  readonly stderrTailLines: number;
  readonly onStateChange: ((change: WorkerStateChange) => void) | undefined;
  readonly logger: Logger;
}

/** Applies the defaults. */
export function resolveModelWorkerOptions(options: ModelWorkerOptions): ResolvedModelWorkerOptions {
  return {
    workerId: options.workerId,
    model: options.model,
    load: { seed: 0, ...options.load },
    pythonPath: options.pythonPath ?? join(PYTHON_RUNTIME_DIR, ".venv/bin/python"),
    cwd: options.cwd ?? PYTHON_RUNTIME_DIR,
    env: options.env ?? {},
    readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
    loadTimeoutMs: options.loadTimeoutMs,
    stopGraceMs: options.stopGraceMs ?? 10_000,
    shutdownTimeoutMs: options.shutdownTimeoutMs ?? 5_000,
    restart: {
      maxConsecutiveFailures: 5,
      initialBackoffMs: 200,
      multiplier: 2,
      maxBackoffMs: 10_000,
      ...options.restart,
    },
    stderrTailLines: options.stderrTailLines ?? 20,
    onStateChange: options.onStateChange,
    logger: options.logger ?? createLogger(`worker/${options.workerId}`),
  };
}

/** The wait before restart attempt `attempt` (0-based): exponential, capped. */
export function backoffDelayMs(attempt: number, policy: Readonly<RestartPolicy>): number {
  return Math.min(policy.initialBackoffMs * policy.multiplier ** attempt, policy.maxBackoffMs);
}
