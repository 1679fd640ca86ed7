/**
 * The model server process, assembled: gRPC (Modelet, LMService, VisionService, reflection) on one port, a model table
 * whose models live in workers (through a ModelLoader), and a Joiner that keeps it joined to its cell.
 */
import { ensureCellExists } from "../common/cell-layout.js";
import { hostPort, myIp } from "../common/ip-address.js";
import { createLogger } from "../common/log.js";
import { parseCellId, type CellId } from "../common/naming.js";
import type { FsRoot } from "../common/fs-root.js";
import { openFsRoot } from "../common/open-fs-root.js";
import { coresOf, parseChipTopology, parseChipType } from "../common/platform.js";
import {
  modelServerOptionsSchema,
  type ModelServerOptions,
  type ResolvedModelServerOptions,
} from "../config/model-server-options.js";
import { parseConfig } from "../config/parse.js";
import { ConfigError } from "../common/errors.js";
import type { ModelServer } from "../gen/sax/admin.js";
import { startGrpcServer } from "../grpc/server.js";
import { ServableRegistry } from "../registry/index.js";
import { DataRouter } from "./data-router.js";
import { Joiner } from "./joiner.js";
import { lmService } from "./lm-service.js";
import type { ModelLoader } from "./model-loader.js";
import { modeletService } from "./modelet-service.js";
import { visionService } from "./vision-service.js";
import { ModelTable } from "./model-table.js";
import { workersCanBuild } from "../worker/servable-kinds.js";
import { WorkerModelLoader } from "./worker-loader.js";

/** What the process shell provides: how models are loaded and which paths this server can load. */
export interface ModelServerDeps {
  readonly loader: ModelLoader;
  readonly servablePaths: readonly string[];
}

/** A running model server. */
export interface ModelServerHandle extends AsyncDisposable {
  /** `ip:port` it serves on and joins with. */
  readonly address: string;
  readonly port: number;
  readonly table: ModelTable;
  /** The join loop, when a cell was given. */
  readonly joiner: Joiner | undefined;
  /** Stops joining and serving, then unloads every model (ending its worker). */
  close(): Promise<void>;
}

/** Starts a model server. */
export async function startModelServer(
  input: ModelServerOptions,
  deps: ModelServerDeps,
): Promise<ModelServerHandle> {
  const options = parseConfig(modelServerOptionsSchema, input, "model server options");
  const log = createLogger("model-server");
  const target = options.saxCell === undefined ? undefined : await openCell(options);
  const table = new ModelTable(deps.loader, log);
  const ip = myIp();
  const router = new DataRouter(table);
  const grpc = await startGrpcServer({
    host: ip === "127.0.0.1" ? "127.0.0.1" : "0.0.0.0",
    port: options.port,
    services: [modeletService(table), lmService(router), visionService(router)],
  });
  const address = hostPort(ip, grpc.port);
  const spec: ModelServer = {
    chipType: parseChipType(options.platformChip),
    chipTopology: parseChipTopology(options.platformTopology),
    servableModelPaths: [...deps.servablePaths],
    tags: options.tags,
  };
  const joiner =
    target &&
    new Joiner({
      ...target,
      address,
      spec: () => spec,
      locationPollMs: options.locationPollMs,
      rejoinIntervalMs: options.rejoinIntervalMs,
      log,
    });
  joiner?.start();
  log.info(`model server serving at ${address}${options.saxCell ? ` for ${options.saxCell}` : ""}`);
  const close = async () => {
    await joiner?.stop();
    await grpc.close();
    await table.unloadAll();
  };
  return { address, port: grpc.port, table, joiner, close, [Symbol.asyncDispose]: close };
}

/** The cell to join: its sax root, checked to exist (a model server for a missing cell fails to start). */
async function openCell(options: ResolvedModelServerOptions): Promise<{ saxRoot: FsRoot; cell: CellId }> {
  if (options.saxRoot === undefined) {
    throw new ConfigError("--sax_cell needs a sax root: pass --sax_root or set SAX_ROOT");
  }
  const saxRoot = await openFsRoot(options.saxRoot);
  const cell = parseCellId(options.saxCell ?? "");
  await ensureCellExists(saxRoot, cell);
  return { saxRoot, cell };
}

/**
 * Starts a model server whose models run in Python workers, advertising what the servable registry can
 * load on its platform (one device per core of its topology: a CPU host shows JAX a single device) and
 * its workers can build.
 */
export async function startWorkerModelServer(input: ModelServerOptions): Promise<ModelServerHandle> {
  const options = parseConfig(modelServerOptionsSchema, input, "model server options");
  const registry = new ServableRegistry(
    options.modelFilterRegex === undefined ? {} : { modelFilterRegex: options.modelFilterRegex },
  );
  const chipTopology = parseChipTopology(options.platformTopology);
  const deviceCount = coresOf(chipTopology);
  const platform = {
    chipType: parseChipType(options.platformChip),
    chipTopology,
    deviceCount,
    platform: options.jaxPlatforms,
  };
  const log = createLogger("model-server");
  const loader = new WorkerModelLoader({
    registry,
    deviceCount,
    jaxPlatforms: options.jaxPlatforms,
    chipType: platform.chipType,
    deterministicRng: options.deterministicRng,
    log,
  });
  // Advertise only what the workers can build, so that the admin never places a model here that cannot load.
  const servablePaths = registry
    .servablePaths(platform)
    .filter((path) => workersCanBuild(registry.resolve(path).config));
  return startModelServer(options, { loader, servablePaths });
}
