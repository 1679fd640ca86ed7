/**
 * Options of admin_config and admin_server, as zod schemas (defaults and help text live here).
 */
import { z } from "zod";
import { DEFAULT_ADMIN_TIMINGS } from "../admin/timings.js";

const port = z.coerce.number().int().min(0).max(65535);
const durationMs = z.coerce.number().int().positive();
const nonEmpty = z.string().min(1, "must not be empty");

/** admin_config's options. */
export const adminConfigOptionsSchema = z.strictObject({
  saxCell: nonEmpty.describe("the cell to configure, e.g. /sax/test"),
  saxRoot: nonEmpty.describe("root of cell metadata: a local folder or gs://bucket/dir (or SAX_ROOT)"),
  fsRoot: nonEmpty.describe("root where the admin keeps the cell's state: a local folder or gs://bucket/dir"),
  adminAcl: z.string().default("acl/all").describe("the cell's admin ACL"),
});

/** Resolved admin_config options. */
export type ResolvedAdminConfigOptions = z.infer<typeof adminConfigOptionsSchema>;

/** admin_server's options. */
export const adminServerOptionsSchema = z.strictObject({
  saxCell: nonEmpty.describe("the cell this admin serves, e.g. /sax/test"),
  saxRoot: nonEmpty.describe("root of cell metadata: a local folder or gs://bucket/dir (or SAX_ROOT)"),
  fsRoot: z
    .string()
    .min(1)
    .optional()
    .describe(
      "root of the cell's state; overrides config.proto's fs_root, and creates the config if missing",
    ),
  adminAcl: z.string().default("acl/all").describe("admin ACL written when --fs_root creates the config"),
  port: port.default(10000).describe("gRPC port of the Admin service"),
  statusPort: port.default(8080).describe("HTTP status page port on 127.0.0.1"),
  refreshIntervalMs: durationMs
    .default(DEFAULT_ADMIN_TIMINGS.refreshIntervalMs)
    .describe("period of model assignment"),
  pollIntervalMs: durationMs
    .default(DEFAULT_ADMIN_TIMINGS.pollIntervalMs)
    .describe("period of model server GetStatus polls"),
  pollTimeoutMs: durationMs
    .default(DEFAULT_ADMIN_TIMINGS.pollTimeoutMs)
    .describe("deadline of one GetStatus poll"),
  pruneTimeoutMs: durationMs
    .default(DEFAULT_ADMIN_TIMINGS.pruneTimeoutMs)
    .describe("prune a model server after this long without a successful poll"),
  joinTimeoutMs: durationMs
    .default(DEFAULT_ADMIN_TIMINGS.joinTimeoutMs)
    .describe("budget to dial a joining model server"),
  wakeUpTimeoutMs: durationMs
    .default(DEFAULT_ADMIN_TIMINGS.wakeUpTimeoutMs)
    .describe("deadline of a WakeUp call"),
});

/** admin_server's options as given (defaults not yet applied). */
export type AdminServerOptions = z.input<typeof adminServerOptionsSchema>;

/** Resolved admin_server options. */
export type ResolvedAdminServerOptions = z.infer<typeof adminServerOptionsSchema>;
