/**
 * Options of model_server, as a zod schema (defaults and help text live here).
 */
import { z } from "zod";

const port = z.coerce.number().int().min(0).max(65535);
const durationMs = z.coerce.number().int().positive();

/** model_server's options. */
export const modelServerOptionsSchema = z.strictObject({
  saxCell: z
    .string()
    .regex(/^\/sax\//, "must start with /sax/")
    .optional()
    .describe("the cell to join, e.g. /sax/test (omit to serve without joining)"),
  saxRoot: z
    .string()
    .min(1)
    .optional()
    .describe("root of cell metadata (or SAX_ROOT); needed with --sax_cell"),
  port: port.describe("gRPC port of the Modelet and data services (0 picks a free one)"),
  platformChip: z.string().default("cpu").describe("chip type: cpu, v100, a100, h100, tpuv4, tpuv5e, …"),
  platformTopology: z.string().default("1").describe("chip topology: 1, 4, 2x2, 2x2x1, …"),
  jaxPlatforms: z.enum(["cpu", "cuda", "tpu"]).default("cpu").describe("JAX platform of the workers"),
  tags: z.array(z.string().min(1)).default([]).describe("tags of this server, for models' constraints"),
  deterministicRng: z
    .boolean()
    .default(false)
    .describe("load every model with seed 1234 (reproducible random weights and samples), not a fresh one"),
  modelFilterRegex: z.string().optional().describe("serve only param class paths fully matching this regex"),
  rejoinIntervalMs: durationMs.default(60_000).describe("re-Join the admin this often (Join is idempotent)"),
  locationPollMs: durationMs.default(5_000).describe("check location.proto for a moved admin this often"),
});

/** model_server's options as given (defaults not yet applied). */
export type ModelServerOptions = z.input<typeof modelServerOptionsSchema>;

/** Resolved model_server options. */
export type ResolvedModelServerOptions = z.infer<typeof modelServerOptionsSchema>;
