/**
 * `sax.Modelet`: the admin's handle on a model server (Load, Unload, UpdateLoaded, GetStatus, …).
 */
import { SaxError } from "../common/errors.js";
import { GetStatusResponse_ServerStatus_State, ModeletDefinition } from "../gen/sax/modelet.js";
import { bindService } from "../grpc/definitions.js";
import { unary } from "../grpc/handlers.js";
import type { ServiceBinding } from "../grpc/server.js";
import type { ModelTable } from "./model-table.js";

const ACTIVE_EXPLANATION = "Computation backend is active and ready for use.";

/** Binds the Modelet service to a model table. */
export function modeletService(table: ModelTable): ServiceBinding {
  return bindService(ModeletDefinition, {
    load: unary(async (req) => {
      await table.load({
        modelKey: req.modelKey,
        modelPath: req.modelPath,
        checkpointPath: req.checkpointPath,
        overrides: req.overrides,
        acls: req.acls?.items ?? {},
      });
      return {};
    }),
    unload: unary(async (req) => {
      await table.unload(req.modelKey);
      return {};
    }),
    updateLoaded: unary(async (req) => {
      await table.updateLoaded(req.modelKey, req.checkpointPath, req.acls?.items ?? {});
      return {};
    }),
    getStatus: unary((req) => {
      // Loaded models always carry load_info and worker_rss_bytes (cheap; sax-ts extensions Saxml
      // clients skip as unknown fields).
      const models = table.statuses(req.includeFailureReasons, req.includeMethodStats);
      return {
        models,
        serverStatus: {
          state: GetStatusResponse_ServerStatus_State.ACTIVE,
          explanation: ACTIVE_EXPLANATION,
          stats: { earlyRejectionErrorsPerSecond: 0 },
          modelServerRssBytes: process.memoryUsage.rss(),
          workersRssBytes: models.reduce((sum, model) => sum + model.workerRssBytes, 0),
        },
      };
    }),
    export: unary(() => {
      throw new SaxError("UNIMPLEMENTED", "Exporting error: exporting to a TF SavedModel is not supported");
    }),
    save: unary((req) => {
      if (!table.get(req.modelKey)) return {};
      throw new SaxError("UNIMPLEMENTED", `Save checkpoint error: ${req.modelKey} cannot save checkpoints`);
    }),
    wakeUp: unary(() => ({})),
  });
}
