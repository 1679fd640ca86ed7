/**
 * The `sax.Admin` gRPC service: translates requests to CellAdmin calls.
 */
import { AdminDefinition } from "../gen/sax/admin.js";
import { bindService } from "../grpc/definitions.js";
import { unary } from "../grpc/handlers.js";
import type { ServiceBinding } from "../grpc/server.js";
import type { CellAdmin } from "./cell-admin.js";

/** Binds `sax.Admin` to a CellAdmin. */
export function adminService(admin: CellAdmin): ServiceBinding {
  return bindService(AdminDefinition, {
    publish: unary(async (req) => {
      await admin.publish(req.model);
      return {};
    }),
    update: unary(async (req) => {
      await admin.update(req.model);
      return {};
    }),
    unpublish: unary(async (req) => {
      await admin.unpublish(req.modelId);
      return {};
    }),
    list: unary((req) => ({ publishedModels: admin.list(req.modelId) })),
    stats: unary((req) => admin.stats(req.modelId)),
    watchLoc: unary((req, ctx) => admin.watchLoc(req.modelId, req.seqno, req.adminServerId, ctx.signal)),
    waitForReady: unary(async (req, ctx) => {
      await admin.waitForReady(req.modelId, req.numReplicas, ctx.signal);
      return {};
    }),
    join: unary(async (req, ctx) => {
      await admin.join(req, ctx.signal);
      return {};
    }),
  });
}
