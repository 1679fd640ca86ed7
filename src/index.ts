/**
 * Public surface of the sax-ts package. Everything else under src/ is internal and free to change.
 */
export { Code, SaxError, isSaxError, type CodeName, type SaxErrorDetails } from "./common/errors.js";
export { parseCellId, parseModelId, type CellId, type ModelId } from "./common/naming.js";
export { startAdminServer, type AdminServerHandle } from "./admin/admin-server.js";
export type { AdminServerOptions } from "./config/admin-options.js";
export * from "./client/index.js";
