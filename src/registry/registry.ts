/**
 * The servable registry: model path → validated servable config. Lookup follows Saxml's
 * `servable_model_registry.get` (data-plane spec §1.2): the filter regex must fully match the name as
 * given, then an exact full name wins, then `<registry root>.<name>` as an alias. The table is static:
 * a Load selects a row, and nothing in a request names code.
 */
import { ConfigError, InvalidArgumentError } from "../common/errors.js";
import { parseConfig } from "../config/parse.js";
import type { ModelServer_ChipTopology, ModelServer_ChipType } from "../gen/sax/admin.js";
import { CATALOGUE, type CatalogueEntry } from "./catalogue/index.js";
import { checkLoadable, runsOn, supportedMeshShape } from "./load-check.js";
import { estimateServableBytes } from "./memory-estimate.js";
import type { Platform } from "./vision-config.js";
import { applyOverrides } from "./overrides.js";
import {
  methodsOf,
  servableConfigSchema,
  type ResolvedServable,
  type ServableConfig,
} from "./servable-config.js";

/** The alias root of Saxml's JAX server (the last `REGISTRY_ROOT` its imports assign). */
export const DEFAULT_REGISTRY_ROOT = "saxml.server";

/** How a registry is set up. */
export interface ServableRegistryOptions {
  /** Prefix that aliases are relative to; null gives no aliases (Saxml's torch server). @default "saxml.server" */
  readonly registryRoot?: string | null;
  /** `--model_filter_regex`: only names it fully matches are found or advertised. @default none */
  readonly modelFilterRegex?: string;
  /** The table. @default CATALOGUE */
  readonly entries?: readonly CatalogueEntry[];
}

/** The host a model server runs on, as far as advertising servables goes. */
export interface ServingPlatform {
  readonly chipType: ModelServer_ChipType;
  readonly chipTopology: ModelServer_ChipTopology;
  /** Devices the worker's framework sees (JAX shows 1 on a plain CPU host). */
  readonly deviceCount: number;
  /** What the workers run on (`--jax_platforms`). */
  readonly platform: Platform;
}

/** Options of one resolution. */
export interface ResolveOptions {
  /** When given, also checks the servable can load on this many devices and picks its mesh shape. */
  readonly deviceCount?: number;
  /** When given (with `deviceCount`), also checks the servable runs on this platform. */
  readonly platform?: Platform;
}

function compileFilter(source: string | undefined): RegExp | undefined {
  if (source === undefined) return undefined;
  try {
    return new RegExp(`^(?:${source})$`);
  } catch (err) {
    throw new ConfigError(`invalid --model_filter_regex ${JSON.stringify(source)}: ${String(err)}`);
  }
}

function buildTable(entries: readonly CatalogueEntry[]): ReadonlyMap<string, ServableConfig> {
  const table = new Map<string, ServableConfig>();
  for (const { path, config } of entries) {
    if (table.has(path)) throw new ConfigError(`servable ${path} is registered twice`);
    table.set(path, parseConfig(servableConfigSchema, config, `servable config ${path}`));
  }
  return table;
}

/** Model path → servable config, with aliases, the model filter, overrides and platform checks. */
export class ServableRegistry {
  private readonly table: ReadonlyMap<string, ServableConfig>;
  private readonly root: string | null;
  private readonly filter: RegExp | undefined;

  /** Validates every entry; throws ConfigError for an invalid or duplicate one. */
  constructor(options: ServableRegistryOptions = {}) {
    this.table = buildTable(options.entries ?? CATALOGUE);
    this.root = options.registryRoot === undefined ? DEFAULT_REGISTRY_ROOT : options.registryRoot;
    this.filter = compileFilter(options.modelFilterRegex);
  }

  /** Full names the filter lets through, in registration order (Saxml's `get_all`). */
  fullNames(): string[] {
    return [...this.table.keys()].filter((name) => this.passesFilter(name));
  }

  /** Aliases of a full name: the name relative to the registry root, when it lies under it. */
  aliasesOf(fullName: string): string[] {
    const prefix = `${this.root}.`;
    return this.root && fullName.startsWith(prefix) ? [fullName.slice(prefix.length)] : [];
  }

  /** The full name `modelPath` (a full name or an alias) selects, or undefined. */
  lookup(modelPath: string): string | undefined {
    if (!this.passesFilter(modelPath)) return undefined;
    if (this.table.has(modelPath)) return modelPath;
    const fullName = this.root ? `${this.root}.${modelPath}` : undefined;
    return fullName !== undefined && this.table.has(fullName) ? fullName : undefined;
  }

  /**
   * Resolves a Load's model path and overrides into the config a worker builds. Throws
   * InvalidArgumentError for an unknown path or a mistyped override, ConfigError for a config the
   * overrides make invalid, and, with `deviceCount`, the load failures of `checkLoadable`.
   */
  resolve(
    modelPath: string,
    overrides: Readonly<Record<string, string>> = {},
    options: ResolveOptions = {},
  ): ResolvedServable {
    const path = this.lookup(modelPath);
    const entry = path === undefined ? undefined : this.table.get(path);
    if (path === undefined || entry === undefined) {
      throw new InvalidArgumentError(`Could not find servable model ${modelPath}`);
    }
    const { config, warnings } = applyOverrides(path, entry, overrides);
    const meshShape =
      options.deviceCount === undefined ? null : checkLoadable(config, options.deviceCount, options.platform);
    return { path, config, methods: methodsOf(config), meshShape, warnings };
  }

  /**
   * Estimated bytes a model of this path (with these overrides) needs when loaded, or undefined if the
   * path or overrides do not resolve here.
   */
  estimatedBytes(modelPath: string, overrides: Readonly<Record<string, string>> = {}): number | undefined {
    try {
      return estimateServableBytes(this.resolve(modelPath, overrides).config);
    } catch {
      return undefined;
    }
  }

  /**
   * The servable paths a model server advertises in Join: each full name that runs on `platform.platform`
   * and whose mesh can be built on `platform.deviceCount` devices, followed by its aliases. Like Saxml's
   * servables, the device count decides for LMs (chip type and topology are for servables that check
   * them); Detectron2 and vLLM classes are advertised on CUDA servers only, as Saxml's torch platform
   * check does.
   */
  servablePaths(platform: ServingPlatform): string[] {
    return this.fullNames()
      .filter((name) => {
        const config = this.table.get(name);
        return (
          config !== undefined &&
          runsOn(config, platform.platform) &&
          supportedMeshShape(config.meshShapes, platform.deviceCount) !== undefined
        );
      })
      .flatMap((name) => [name, ...this.aliasesOf(name)]);
  }

  private passesFilter(name: string): boolean {
    return this.filter === undefined || this.filter.test(name);
  }
}
