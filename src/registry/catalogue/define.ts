/**
 * How catalogue files are written. A Saxml params class is a chain of class-attribute overrides; here a
 * config is a base object plus a patch (`derive`), where each patched attribute replaces the inherited
 * one: sections (`architecture`, `serving`) merge key by key, every value inside them (lists, extra-input
 * maps) is replaced whole, as a Python class attribute would be.
 */
import type { z } from "zod";
import type { llamaArchitectureSchema, lmCloudArchitectureSchema } from "../architecture-config.js";
import type { lmServableConfigSchema, ServableConfigInput } from "../servable-config.js";

/** One row of the static table: a registration name and the config it selects. */
export interface CatalogueEntry {
  /** Full registration name, `<python module>.<ClassName>` for Saxml classes. */
  readonly path: string;
  /** The config as written (schema defaults not yet applied). */
  readonly config: ServableConfigInput;
}

/** An LM config as written in the catalogue. */
export type LmConfigInput = z.input<typeof lmServableConfigSchema>;

/** An LM config of the LLaMA family as written in the catalogue. */
export type LlamaConfigInput = Omit<LmConfigInput, "architecture"> & {
  architecture: z.input<typeof llamaArchitectureSchema>;
};

/** An LM config of the LmCloud family as written in the catalogue. */
export type LmCloudConfigInput = Omit<LmConfigInput, "architecture"> & {
  architecture: z.input<typeof lmCloudArchitectureSchema>;
};

/** What a derived class changes: any top-level field, and any subset of the architecture or serving. */
export type ConfigPatch<T extends LmConfigInput> = Omit<Partial<T>, "architecture" | "serving"> & {
  architecture?: Partial<T["architecture"]>;
  serving?: T["serving"];
};

/** A config that inherits `base` and replaces what `patch` sets (a Python subclass, as data). */
export function derive<T extends LmConfigInput>(base: T, patch: ConfigPatch<T>): T {
  return {
    ...base,
    ...patch,
    architecture: { ...base.architecture, ...patch.architecture },
    serving: { ...base.serving, ...patch.serving },
  };
}

/** The entries of one Python module, `{ ClassName: config }` in registration order. */
export function entriesOf(module: string, classes: Record<string, ServableConfigInput>): CatalogueEntry[] {
  return Object.entries(classes).map(([name, config]) => ({ path: `${module}.${name}`, config }));
}

/** The module of every class in Saxml's `lm_cloud.py`. */
export const LM_CLOUD_MODULE = "saxml.server.pax.lm.params.lm_cloud";

/** Patch of a class whose `test_mode` property returns True: the checkpoint is ignored. */
export const TEST_MODE = { testMode: true } as const;
