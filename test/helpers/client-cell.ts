/**
 * A small cell for client-library tests: an in-process admin with fast timings, model servers joined
 * to it, and a `Sax` client pointed at its sax root. Model servers use the in-process FakeLoader by
 * default, or real Python workers with `python: true`.
 *
 *   await using cell = await startClientCell({ servers: 2 });
 *   await cell.sax.admin("/sax/test").publish({ ... });
 */
import { Sax } from "../../src/client/index.js";
import type { RetryPolicy } from "../../src/client/index.js";
import {
  startModelServer,
  startWorkerModelServer,
  type ModelServerHandle,
} from "../../src/model-server/model-server.js";
import { FAKE_PATH, FakeLoader } from "./fake-loader.js";
import { startTestAdmin, type TestAdmin } from "./test-admin.js";

/** The test cell. */
export const CELL = "/sax/test";

/** A publish spec for `modelId` served by the fake loader (and by the Python echo servable). */
export function echoSpec(modelId: string, numReplicas = 1) {
  return { modelId, modelPath: FAKE_PATH, checkpointPath: "None", numReplicas };
}

/** Options of {@link startClientCell}. */
export interface ClientCellOptions {
  /** Number of model servers. @default 1 */
  readonly servers?: number;
  /** Run models in Python workers instead of the in-process fake. @default false */
  readonly python?: boolean;
  readonly retry?: RetryPolicy;
}

/** A running test cell with a client. */
export interface ClientCell extends AsyncDisposable {
  readonly admin: TestAdmin;
  /** Shared by the model servers (unused with `python`). */
  readonly loader: FakeLoader;
  readonly servers: ModelServerHandle[];
  readonly sax: Sax;
}

/** Starts an admin, `servers` model servers joined to it, and a client. */
export async function startClientCell(options: ClientCellOptions = {}): Promise<ClientCell> {
  const admin = await startTestAdmin();
  const loader = new FakeLoader();
  const servers: ModelServerHandle[] = [];
  const serverOptions = { saxCell: CELL, saxRoot: admin.saxRoot, port: 0, locationPollMs: 100 };
  for (let i = 0; i < (options.servers ?? 1); i++) {
    servers.push(
      options.python
        ? await startWorkerModelServer(serverOptions)
        : await startModelServer(serverOptions, { loader, servablePaths: [FAKE_PATH] }),
    );
  }
  const sax = new Sax({ saxRoot: admin.saxRoot, ...(options.retry && { retry: options.retry }) });
  return {
    admin,
    loader,
    servers,
    sax,
    [Symbol.asyncDispose]: async () => {
      await sax.close();
      await Promise.all(servers.map((s) => s.close()));
      await admin[Symbol.asyncDispose]();
    },
  };
}
