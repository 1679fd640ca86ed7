/**
 * The behaviour of the fake model server, without sockets: a model table that follows the reference
 * Modelet semantics (spec §6.3), a log of every call (`fake-model-server-calls.ts`), and the switches
 * a test flips (scripted failures, pause, dormancy). `fake-model-server.ts` puts it behind a real gRPC port.
 *
 * Like the reference, Load / Unload / UpdateLoaded work runs one item at a time in arrival order, so an
 * Unload that arrives while a Load is still sleeping waits for it instead of racing it.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { SaxError, type CodeName } from "../../src/common/errors.js";
import { ModelStatus } from "../../src/gen/sax/common.js";
import {
  GetStatusResponse_ServerStatus_State as ServerState,
  type ExportRequest,
  type ExportResponse,
  type GetStatusRequest,
  type GetStatusResponse,
  type LoadRequest,
  type LoadResponse,
  type SaveRequest,
  type SaveResponse,
  type UnloadRequest,
  type UnloadResponse,
  type UpdateLoadedRequest,
  type UpdateLoadedResponse,
  type WakeUpRequest,
  type WakeUpResponse,
} from "../../src/gen/sax/modelet.js";
import { CallLog, type ModeletCall } from "./fake-model-server-calls.js";

/** A scripted failure: a reason (reported as INTERNAL) or a reason with the code to fail with. */
export type ScriptedFailure = string | { readonly code: CodeName; readonly reason: string };

/** What the fake knows about one model key. */
export interface FakeModel {
  status: ModelStatus;
  modelPath: string;
  checkpointPath: string;
  /** Data method → ACL name. */
  acls: Record<string, string>;
  overrides: Record<string, string>;
  /** Set when status is FAILED. */
  failureReason: string;
}

/** How the fake behaves; every field is optional. */
export interface FakeModeletOptions {
  /** How long a Load stays LOADING. @default 0 */
  readonly loadDelayMs?: number;
  /** How long an Unload stays UNLOADING. @default 0 */
  readonly unloadDelayMs?: number;
  /** Returns a failure to make this Load end FAILED, or undefined to let it succeed. */
  readonly failLoad?: (request: LoadRequest) => ScriptedFailure | undefined;
  /** Returns a failure to make this Unload fail (the model becomes FAILED), or undefined. */
  readonly failUnload?: (request: UnloadRequest) => ScriptedFailure | undefined;
  /** Data methods reported in GetStatus method stats for each LOADED model. @default ["lm.generate"] */
  readonly methodNames?: readonly string[];
}

/** While paused, calls fail with UNAVAILABLE or hang until `resume()` or the caller's deadline. */
export type PauseMode = "unavailable" | "hang";

const ACTIVE_EXPLANATION = "Computation backend is active and ready for use.";
const DORMANT_EXPLANATION = "Computation backend is dormant; send WakeUp to activate it.";

/** The Modelet's state and RPC behaviour, plus test controls. */
export class FakeModelet {
  /** Every call received, in arrival order. */
  readonly log = new CallLog();
  private readonly table = new Map<string, FakeModel>();
  private readonly closing = new AbortController();
  private work: Promise<unknown> = Promise.resolve();
  private paused: { mode: PauseMode; resumed: Promise<void>; resume: () => void } | undefined;
  private dormant = false;

  constructor(private readonly options: FakeModeletOptions = {}) {}

  async load(request: LoadRequest, signal: AbortSignal): Promise<LoadResponse> {
    await this.enter({ method: "Load", request }, signal);
    const key = request.modelKey;
    if (this.table.has(key)) return {}; // Saxml: loading a key it already knows, in any status, is a no-op
    const model: FakeModel = {
      status: ModelStatus.LOADING,
      modelPath: request.modelPath,
      checkpointPath: request.checkpointPath,
      acls: { ...request.acls?.items },
      overrides: { ...request.overrides },
      failureReason: "",
    };
    this.table.set(key, model);
    await this.serially(async () => {
      await this.sleep(this.options.loadDelayMs ?? 0);
      const failure = this.options.failLoad?.(request);
      if (failure === undefined) {
        model.status = ModelStatus.LOADED;
        return;
      }
      const { code, reason } = normalize(failure);
      Object.assign(model, { status: ModelStatus.FAILED, failureReason: reason });
      // Like the reference: a ValueError keeps its text (INVALID_ARGUMENT), anything else is wrapped.
      throw new SaxError(code, code === "INTERNAL" ? `Loading error: ${reason}` : reason, { model: key });
    });
    return {};
  }

  async unload(request: UnloadRequest, signal: AbortSignal): Promise<UnloadResponse> {
    await this.enter({ method: "Unload", request }, signal);
    const key = request.modelKey;
    if (key === "") throw new SaxError("INVALID_ARGUMENT", "model_key is not specified.");
    if (!this.table.has(key)) throw new SaxError("INVALID_ARGUMENT", `${key} not found, cannot unload.`);
    await this.serially(async () => {
      const model = this.table.get(key);
      if (model === undefined) return; // a test removed it meanwhile
      const failure = this.options.failUnload?.(request);
      if (failure === undefined && model.status === ModelStatus.FAILED) {
        this.table.delete(key); // Saxml: FAILED entries are simply removed
        return;
      }
      model.status = ModelStatus.UNLOADING;
      await this.sleep(this.options.unloadDelayMs ?? 0);
      if (failure === undefined) {
        this.table.delete(key);
        return;
      }
      const { code, reason } = normalize(failure);
      Object.assign(model, { status: ModelStatus.FAILED, failureReason: reason });
      throw new SaxError(code, `Unloading error: ${reason}`, { model: key });
    });
    return {};
  }

  async updateLoaded(request: UpdateLoadedRequest, signal: AbortSignal): Promise<UpdateLoadedResponse> {
    await this.enter({ method: "UpdateLoaded", request }, signal);
    const key = request.modelKey;
    const acls = request.acls?.items ?? {};
    if (request.checkpointPath === "") {
      if (key === "") throw new SaxError("INVALID_ARGUMENT", "model_key is not specified.");
      const model = this.table.get(key);
      if (model !== undefined && Object.keys(acls).length > 0) model.acls = { ...acls };
      return {}; // OK even for unknown keys, like the reference
    }
    await this.serially(() => {
      const model = this.table.get(key);
      if (model?.status !== ModelStatus.LOADED) throw new SaxError("NOT_FOUND", `Model ${key} not found.`);
      // The reference reloads on any non-empty checkpoint; the fake just records the new one.
      Object.assign(model, { checkpointPath: request.checkpointPath, acls: { ...acls } });
      return Promise.resolve();
    });
    return {};
  }

  async getStatus(request: GetStatusRequest, signal: AbortSignal): Promise<GetStatusResponse> {
    await this.enter({ method: "GetStatus", request }, signal);
    const methodNames = this.options.methodNames ?? ["lm.generate"];
    return {
      models: [...this.table].map(([modelKey, model]) => ({
        modelKey,
        modelStatus: model.status,
        workerRssBytes: 0,
        failureReason:
          request.includeFailureReasons && model.status === ModelStatus.FAILED ? model.failureReason : "",
        methodStats:
          request.includeMethodStats && model.status === ModelStatus.LOADED
            ? methodNames.map((method) => ({
                method,
                errorsPerSecond: 0,
                successesPerSecond: 0,
                recentBatchSizes: [],
                pendingReqs: 0,
              }))
            : [],
      })),
      serverStatus: {
        state: this.dormant ? ServerState.DORMANT : ServerState.ACTIVE,
        explanation: this.dormant ? DORMANT_EXPLANATION : ACTIVE_EXPLANATION,
        stats: { earlyRejectionErrorsPerSecond: 0 },
      },
    };
  }

  async wakeUp(request: WakeUpRequest, signal: AbortSignal): Promise<WakeUpResponse> {
    await this.enter({ method: "WakeUp", request }, signal);
    this.dormant = false;
    return {};
  }

  async save(request: SaveRequest, signal: AbortSignal): Promise<SaveResponse> {
    await this.enter({ method: "Save", request }, signal);
    return {};
  }

  async export(request: ExportRequest, signal: AbortSignal): Promise<ExportResponse> {
    await this.enter({ method: "Export", request }, signal);
    throw new SaxError("UNIMPLEMENTED", "Exporting error: the fake model server has no exporter");
  }

  /** A copy of the model table. */
  models(): Map<string, FakeModel> {
    return new Map([...this.table].map(([key, model]) => [key, structuredClone(model)]));
  }

  /** Adds a model as if it had been loaded before the server joined. */
  preload(key: string, modelPath: string, model: Partial<FakeModel> = {}): void {
    this.table.set(key, {
      status: ModelStatus.LOADED,
      modelPath,
      checkpointPath: "",
      acls: {},
      overrides: {},
      failureReason: "",
      ...model,
    });
  }

  /** Changes a known model's status; NONE removes it (unloaded models are absent in Saxml). */
  setModelStatus(key: string, status: ModelStatus, failureReason = ""): void {
    const model = this.table.get(key);
    if (model === undefined) throw new Error(`fake model server does not know ${key}; preload it first`);
    if (status === ModelStatus.NONE) this.table.delete(key);
    else Object.assign(model, { status, failureReason });
  }

  /** Reports DORMANT (or ACTIVE again) in GetStatus; WakeUp makes it ACTIVE. */
  setDormant(dormant: boolean): void {
    this.dormant = dormant;
  }

  /** Makes every RPC fail with UNAVAILABLE, or hang, until {@link resume}. Calls are still logged. */
  pause(mode: PauseMode = "unavailable"): void {
    if (this.paused !== undefined) {
      this.paused.mode = mode;
      return;
    }
    let resume = () => {};
    const resumed = new Promise<void>((resolve) => (resume = resolve));
    this.paused = { mode, resumed, resume };
  }

  /** Undoes {@link pause}; hanging calls go on. */
  resume(): void {
    this.paused?.resume();
    this.paused = undefined;
  }

  /** Releases hanging calls and sleeping loads with UNAVAILABLE and rejects pending waitForCall. */
  shutdown(): void {
    this.closing.abort();
    this.log.close();
  }

  /** Logs a call, wakes its waiters, then applies the pause switch. */
  private async enter(call: ModeletCall, signal: AbortSignal): Promise<void> {
    this.log.record(call);
    if (this.paused === undefined) return;
    if (this.paused.mode === "unavailable")
      throw new SaxError("UNAVAILABLE", "the fake model server is paused");
    await this.until(this.paused.resumed, signal);
  }

  private serially<T>(task: () => Promise<T>): Promise<T> {
    const result = this.work.then(task);
    this.work = result.catch(() => undefined);
    return result;
  }

  private async sleep(ms: number): Promise<void> {
    if (ms <= 0) return;
    await sleep(ms, undefined, { signal: this.closing.signal }).catch(() => {
      throw new SaxError("UNAVAILABLE", "the fake model server was closed");
    });
  }

  /** Waits for `promise` unless the call is cancelled or the server closes first. */
  private until(promise: Promise<void>, signal: AbortSignal): Promise<void> {
    const stop = AbortSignal.any([signal, this.closing.signal]);
    return new Promise<void>((resolve, reject) => {
      const onAbort = () =>
        reject(new SaxError("UNAVAILABLE", "the fake model server was closed or the call ended"));
      if (stop.aborted) return onAbort();
      stop.addEventListener("abort", onAbort, { once: true });
      void promise.then(() => {
        stop.removeEventListener("abort", onAbort);
        resolve();
      });
    });
  }
}

function normalize(failure: ScriptedFailure): { code: CodeName; reason: string } {
  return typeof failure === "string" ? { code: "INTERNAL", reason: failure } : failure;
}
