/**
 * The static servable table: every params class Saxml registers in `lm_cloud.py`, its vision and
 * torch-registered classes, then sax-ts's own.
 * A Load selects a row by name; it never names code to import.
 */
import type { CatalogueEntry } from "./define.js";
import { LLAMA_ENTRIES } from "./llama.js";
import { LLAMA3_ENTRIES } from "./llama3.js";
import { LLAMA_70B_ENTRIES } from "./llama70b.js";
import { LM_CLOUD_ENTRIES } from "./lm-cloud.js";
import { SAXTS_ENTRIES } from "./saxts.js";
import { SAXTS_VISION_ENTRIES, VISION_ENTRIES } from "./vision.js";

export type { CatalogueEntry } from "./define.js";
export { LM_CLOUD_MODULE } from "./define.js";

/** Every registered servable, in registration order. */
export const CATALOGUE: readonly CatalogueEntry[] = [
  ...LLAMA_ENTRIES,
  ...LLAMA_70B_ENTRIES,
  ...LLAMA3_ENTRIES,
  ...LM_CLOUD_ENTRIES,
  ...VISION_ENTRIES,
  ...SAXTS_ENTRIES,
  ...SAXTS_VISION_ENTRIES,
];
