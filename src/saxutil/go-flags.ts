/**
 * Command-line flags parsed the way Go's `flag` package does, which is what Saxml's saxutil users type:
 *
 * - `-name`, `--name`, `-name=value`, `-name value` (not for booleans: `-csv=false`);
 * - parsing stops at the first argument that is not a flag, at a lone `-`, and after `--`, so flags must
 *   come before positional arguments (`update /sax/c/m -replicas=3` has two positionals);
 * - `-h`/`-help` ask for help unless a flag of that name exists.
 *
 * Flag sets are declared as data ({@link FlagDefs}); {@link parseFlags} returns typed values, the
 * positionals and which flags were given explicitly. {@link describeFlags} prints Go's
 * `PrintDefaults` layout.
 */
import { formatGoDuration, parseGoBool, parseGoDuration, parseGoInt, quoteGo } from "./go-values.js";

/** One flag: how to parse it, its default and its help line. */
export interface FlagDef<T> {
  /** Type word shown in help (`string`, `int`, `duration`, `value`), `""` for booleans. */
  readonly typeName: string;
  readonly usage: string;
  readonly defaultValue: T;
  /** Whether `-name` alone sets it (booleans). */
  readonly isBool: boolean;
  /** Parses one occurrence; `previous` is the value so far (lists append). Throws `Error(reason)`. */
  parse(text: string, previous: T): T;
  /** The default as help shows it, or `undefined` when it is the type's zero value (then not shown). */
  showDefault(): string | undefined;
}

/** A flag set: flag name → definition. */
export type FlagDefs = Readonly<Record<string, FlagDef<unknown>>>;

/** The parsed values of a flag set. */
export type FlagValues<D extends FlagDefs> = {
  -readonly [K in keyof D]: D[K] extends FlagDef<infer T> ? T : never;
};

/** A boolean flag. */
export function boolFlag(defaultValue: boolean, usage: string): FlagDef<boolean> {
  return {
    typeName: "",
    usage,
    defaultValue,
    isBool: true,
    parse: (text) => parseGoBool(text),
    showDefault: () => (defaultValue ? "true" : undefined),
  };
}

/** A string flag. */
export function stringFlag(defaultValue: string, usage: string): FlagDef<string> {
  return {
    typeName: "string",
    usage,
    defaultValue,
    isBool: false,
    parse: (text) => text,
    showDefault: () => (defaultValue === "" ? undefined : quoteGo(defaultValue)),
  };
}

/** An integer flag (Go syntax: `0x10`, `1_000`, …). */
export function intFlag(defaultValue: number, usage: string): FlagDef<number> {
  return {
    typeName: "int",
    usage,
    defaultValue,
    isBool: false,
    parse: (text) => parseGoInt(text),
    showDefault: () => (defaultValue === 0 ? undefined : String(defaultValue)),
  };
}

/** A duration flag (Go syntax: `60s`, `1m30s`), valued in milliseconds. */
export function durationFlag(defaultMs: number, usage: string): FlagDef<number> {
  return {
    typeName: "duration",
    usage,
    defaultValue: defaultMs,
    isBool: false,
    parse: (text) => parseGoDuration(text),
    showDefault: () => (defaultMs === 0 ? undefined : formatGoDuration(defaultMs)),
  };
}

/** A repeatable flag whose values are comma-split and appended (`-signatures=a,b -signatures=c`). */
export function listFlag(usage: string): FlagDef<string[]> {
  return {
    typeName: "value",
    usage,
    defaultValue: [],
    isBool: false,
    parse: (text, previous) => [...previous, ...text.split(",")],
    showDefault: () => undefined,
  };
}

/** A flag that is accepted and ignored (glog flags of the original binaries). */
export function ignoredFlag(isBool: boolean, usage: string): FlagDef<string> {
  return {
    typeName: isBool ? "" : "value",
    usage,
    defaultValue: "",
    isBool,
    parse: (text) => text,
    showDefault: () => undefined,
  };
}

/** A flag-syntax problem: the message Go's flag package would print, or a request for help. */
export class FlagError extends Error {
  override readonly name = "FlagError";
  /** True for `-h`/`-help`: print usage, no error line. */
  readonly isHelp: boolean;
  constructor(message: string, isHelp = false) {
    super(message);
    this.isHelp = isHelp;
  }
}

/** Result of {@link parseFlags}. */
export interface ParsedFlags<D extends FlagDefs> {
  readonly values: FlagValues<D>;
  /** Arguments after the flags. */
  readonly args: string[];
  /** Names of the flags given on the command line. */
  readonly given: ReadonlySet<string>;
}

/** Parses leading flags of `argv` against `defs`; throws {@link FlagError}. */
export function parseFlags<D extends FlagDefs>(defs: D, argv: readonly string[]): ParsedFlags<D> {
  const values = Object.fromEntries(
    Object.entries(defs).map(([name, def]) => [name, def.defaultValue]),
  ) as FlagValues<D>;
  const given = new Set<string>();
  const store = values as Record<string, unknown>;
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg.length < 2 || !arg.startsWith("-")) break;
    if (arg === "--") {
      i++;
      break;
    }
    const body = arg.slice(arg.startsWith("--") ? 2 : 1);
    if (body === "" || body.startsWith("-") || body.startsWith("=")) {
      throw new FlagError(`bad flag syntax: ${arg}`);
    }
    const eq = body.indexOf("=");
    const name = eq < 0 ? body : body.slice(0, eq);
    let value = eq < 0 ? undefined : body.slice(eq + 1);
    const def = Object.hasOwn(defs, name) ? defs[name] : undefined;
    if (def === undefined) {
      if (name === "h" || name === "help") throw new FlagError("", true);
      throw new FlagError(`flag provided but not defined: -${name}`);
    }
    if (def.isBool && value === undefined) {
      value = "true";
    } else if (value === undefined) {
      if (i + 1 >= argv.length) throw new FlagError(`flag needs an argument: -${name}`);
      value = argv[++i] ?? "";
    }
    try {
      store[name] = def.parse(value, store[name]);
    } catch (err) {
      const reason = (err as Error).message;
      throw new FlagError(
        def.isBool
          ? `invalid boolean value ${quoteGo(value)} for -${name}: ${reason}`
          : `invalid value ${quoteGo(value)} for flag -${name}: ${reason}`,
      );
    }
    given.add(name);
  }
  return { values, args: argv.slice(i), given };
}

/** The flags' help in Go's `PrintDefaults` layout, sorted by name; `""` for an empty set. */
export function describeFlags(defs: FlagDefs): string {
  return Object.keys(defs)
    .sort()
    .map((name) => {
      const def = defs[name];
      if (def === undefined) return "";
      let head = `  -${name}${def.typeName ? ` ${def.typeName}` : ""}`;
      // Go keeps a one-letter boolean's help on the same line.
      head += head.length <= 4 ? "\t" : "\n    \t";
      const shown = def.showDefault();
      const usage = def.usage.replaceAll("\n", "\n    \t");
      return `${head}${usage}${shown === undefined ? "" : ` (default ${shown})`}\n`;
    })
    .join("");
}
