/**
 * A real `sax.Modelet` gRPC server on loopback whose behaviour a test scripts and observes, standing in
 * for a model server in the admin's integration tests:
 *
 *   await using server = await startFakeModelServer({ loadDelayMs: 50 });
 *   await server.join(admin.address, { servablePaths: ["saxml.test.Lm"] });
 *   await server.waitForCall("Load", (req) => req.modelKey === "/sax/test/lm");
 *
 * The model table, call log and switches live in {@link FakeModelet}; this module binds it to a port,
 * sends Join on its behalf and stops it like a killed process (connections refused afterwards).
 */
import { AdminDefinition, ModelServer_ChipTopology, ModelServer_ChipType } from "../../src/gen/sax/admin.js";
import type { ModelStatus } from "../../src/gen/sax/common.js";
import { ModeletDefinition } from "../../src/gen/sax/modelet.js";
import { callUnary, openChannel } from "../../src/grpc/client.js";
import { bindService, grpcService } from "../../src/grpc/definitions.js";
import { unary } from "../../src/grpc/handlers.js";
import { startGrpcServer } from "../../src/grpc/server.js";
import type {
  CallPredicate,
  ModeletCall,
  ModeletMethod,
  ModeletRequests,
} from "./fake-model-server-calls.js";
import {
  FakeModelet,
  type FakeModel,
  type FakeModeletOptions,
  type PauseMode,
} from "./fake-model-server-modelet.js";

export type {
  CallPredicate,
  ModeletCall,
  ModeletMethod,
  ModeletRequests,
} from "./fake-model-server-calls.js";
export type { FakeModel, PauseMode, ScriptedFailure } from "./fake-model-server-modelet.js";

/** Options of {@link startFakeModelServer}. */
export interface FakeModelServerOptions extends FakeModeletOptions {
  /** Port to bind on 127.0.0.1; 0 picks a free one. @default 0 */
  readonly port?: number;
}

/** The ModelServer spec sent in Join. */
export interface FakeServerSpec {
  /** @default ModelServer_ChipType.CHIP_TYPE_CPU */
  readonly chipType?: ModelServer_ChipType;
  /** @default ModelServer_ChipTopology.CHIP_TOPOLOGY_1 */
  readonly chipTopology?: ModelServer_ChipTopology;
  /** Model paths this server can load. @default [] */
  readonly servablePaths?: readonly string[];
  /** @default [] */
  readonly tags?: readonly string[];
}

/** A running fake model server; dispose it (or `close()`) to kill it. */
export interface FakeModelServer extends AsyncDisposable {
  /** `127.0.0.1:<port>`, the address it joins with. */
  readonly address: string;
  readonly port: number;
  /** Every Modelet call received so far, in arrival order (including calls failed by a pause). */
  readonly calls: readonly ModeletCall[];
  /**
   * Resolves with the request of the first call of `method` matching `predicate`, whether it already
   * arrived or arrives within `timeoutMs` (else rejects with DEADLINE_EXCEEDED listing the calls seen).
   * The predicate also gets the call's index in {@link calls}: to wait for a new call only, use
   * `const n = server.calls.length; await server.waitForCall("GetStatus", (_, i) => i >= n)`.
   */
  waitForCall<M extends ModeletMethod>(
    method: M,
    predicate?: CallPredicate<M>,
    timeoutMs?: number,
  ): Promise<ModeletRequests[M]>;
  /** A snapshot of the model table, model key → model. */
  models(): Map<string, FakeModel>;
  /**
   * Adds a model as if it was loaded before the server joined: LOADED with an empty checkpoint unless
   * `model` says otherwise.
   */
  preload(key: string, modelPath: string, model?: Partial<FakeModel>): void;
  /** Changes a known model's status (and failure reason); `ModelStatus.NONE` removes it. */
  setModelStatus(key: string, status: ModelStatus, failureReason?: string): void;
  /** Reports the backend DORMANT (true) or ACTIVE in GetStatus; a WakeUp call makes it ACTIVE. */
  setDormant(dormant: boolean): void;
  /** Makes every Modelet RPC fail with UNAVAILABLE (default) or hang, so the admin sees a dead server. */
  pause(mode?: PauseMode): void;
  /** Undoes {@link pause}. */
  resume(): void;
  /** Sends a real `sax.Admin/Join` for this server (present `model_server`, `address` = this server). */
  join(adminAddress: string, spec?: FakeServerSpec, timeoutMs?: number): Promise<void>;
  /** Stops the server at once: running calls are cut off and new connections are refused. */
  close(): Promise<void>;
}

const DEFAULT_WAIT_MS = 5_000;
const DEFAULT_JOIN_TIMEOUT_MS = 10_000;

/** Starts a fake model server serving `sax.Modelet` on 127.0.0.1. */
export async function startFakeModelServer(options: FakeModelServerOptions = {}): Promise<FakeModelServer> {
  const modelet = new FakeModelet(options);
  const grpc = await startGrpcServer({
    host: "127.0.0.1",
    port: options.port ?? 0,
    services: [
      bindService(ModeletDefinition, {
        load: unary((req, ctx) => modelet.load(req, ctx.signal)),
        updateLoaded: unary((req, ctx) => modelet.updateLoaded(req, ctx.signal)),
        unload: unary((req, ctx) => modelet.unload(req, ctx.signal)),
        export: unary((req, ctx) => modelet.export(req, ctx.signal)),
        getStatus: unary((req, ctx) => modelet.getStatus(req, ctx.signal)),
        save: unary((req, ctx) => modelet.save(req, ctx.signal)),
        wakeUp: unary((req, ctx) => modelet.wakeUp(req, ctx.signal)),
      }),
    ],
  });
  const address = `127.0.0.1:${grpc.port}`;
  let closed: Promise<void> | undefined;
  const close = () => {
    if (closed === undefined) {
      modelet.shutdown(); // release hanging calls first so nothing holds the shutdown up
      closed = grpc.close(0); // no grace: behave like a killed process
    }
    return closed;
  };
  return {
    address,
    port: grpc.port,
    calls: modelet.log.entries,
    waitForCall: (method, predicate = () => true, timeoutMs = DEFAULT_WAIT_MS) =>
      modelet.log.waitFor(method, predicate, timeoutMs),
    models: () => modelet.models(),
    preload: (key, modelPath, model) => modelet.preload(key, modelPath, model),
    setModelStatus: (key, status, failureReason) => modelet.setModelStatus(key, status, failureReason),
    setDormant: (dormant) => modelet.setDormant(dormant),
    pause: (mode) => modelet.pause(mode),
    resume: () => modelet.resume(),
    join: (adminAddress, spec, timeoutMs) => join(adminAddress, address, spec, timeoutMs),
    close,
    [Symbol.asyncDispose]: close,
  };
}

async function join(
  adminAddress: string,
  address: string,
  spec: FakeServerSpec = {},
  timeoutMs = DEFAULT_JOIN_TIMEOUT_MS,
): Promise<void> {
  const client = openChannel(adminAddress);
  try {
    const modelServer = {
      chipType: spec.chipType ?? ModelServer_ChipType.CHIP_TYPE_CPU,
      chipTopology: spec.chipTopology ?? ModelServer_ChipTopology.CHIP_TOPOLOGY_1,
      servableModelPaths: [...(spec.servablePaths ?? [])],
      tags: [...(spec.tags ?? [])],
    };
    const request = { address, modelServer, debugAddress: "", dataAddress: "" };
    await callUnary(client, grpcService(AdminDefinition).join, request, { timeoutMs });
  } finally {
    client.close();
  }
}
