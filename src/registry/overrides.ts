/**
 * Publish overrides applied to a servable config with Saxml's rules (data-plane spec §1.5), key by key:
 * an attribute the servable lacks ⇒ warning, skipped; invalid JSON ⇒ warning, skipped; a JSON value whose
 * Python type differs from the current value's ⇒ InvalidArgumentError; null on either side ⇒ accepted.
 * The admin's `ram`/`ram<N>`/`constraints` keys are skipped silently. The result is validated again.
 *
 * JSON in JS has one number type; Python has two. A number is a Python `float` when its JSON text has a
 * decimal point or an exponent (`1.0`, `1e3`) and an `int` otherwise (`1`), as `json.loads` decides.
 * Python's json also accepts `NaN` and `Infinity`; we treat them as invalid JSON (a config is JSON too).
 */
import { InvalidArgumentError } from "../common/errors.js";
import { parseConfig } from "../config/parse.js";
import { OVERRIDE_KEYS, PROPERTY, type NumberKind } from "./override-keys.js";
import { servableConfigSchema, type ServableConfig } from "./servable-config.js";

/** Python type names as Saxml compares them (`type(v) != type(cur_v)`). */
type PythonType = "NoneType" | "bool" | "int" | "float" | "str" | "list" | "dict" | "property";

/** Keys the admin's assigner reads; no servable has them, and Saxml only logs them. */
const ASSIGNER_KEYS = /^(ram\d*|constraints)$/;

/** A config with overrides applied, and a sentence per override that was skipped. */
export interface OverriddenConfig {
  readonly config: ServableConfig;
  readonly warnings: string[];
}

function pythonTypeOf(value: unknown, number: NumberKind): PythonType {
  if (value === PROPERTY) return "property";
  if (value === null || value === undefined) return "NoneType";
  if (Array.isArray(value)) return "list";
  if (typeof value === "boolean") return "bool";
  if (typeof value === "number") return number;
  return typeof value === "string" ? "str" : "dict";
}

/** Python's repr of a current value, enough to recognise it in a message. */
function pythonRepr(value: unknown, type: PythonType): string {
  if (type === "property") return "a property";
  if (type === "float" && Number.isInteger(value)) return (value as number).toFixed(1);
  return JSON.stringify(value);
}

function parseJson(text: string): { ok: true; value: unknown; number: NumberKind } | { ok: false } {
  try {
    const value: unknown = JSON.parse(text);
    return { ok: true, value, number: /[.eE]/.test(text) ? "float" : "int" };
  } catch {
    return { ok: false };
  }
}

function mismatch(key: string, current: PythonType, currentRepr: string, text: string, given: PythonType) {
  const hint =
    current === "property"
      ? "; it is a property, so only null is accepted"
      : current === "float" && given === "int"
        ? `; write ${text.trim()}.0 for a float`
        : "";
  return new InvalidArgumentError(
    `mismatched type of override ${key}: original ${currentRepr} is ${current}, override ${text.trim()} is ${given}${hint}`,
  );
}

/**
 * Applies `overrides` (attribute name → JSON text) to the config of servable `path`, then validates the
 * result; throws InvalidArgumentError on a type mismatch and ConfigError when the result is invalid.
 */
export function applyOverrides(
  path: string,
  config: ServableConfig,
  overrides: Readonly<Record<string, string>>,
): OverriddenConfig {
  const draft = structuredClone(config) as unknown as Record<string, unknown>;
  const warnings: string[] = [];
  for (const [key, text] of Object.entries(overrides)) {
    if (ASSIGNER_KEYS.test(key)) continue;
    const binding = OVERRIDE_KEYS.get(key);
    const current = binding?.read(draft as unknown as ServableConfig);
    if (!binding || !current) {
      warnings.push(`ignoring override ${key}: ${path} has no such attribute`);
      continue;
    }
    const parsed = parseJson(text);
    if (!parsed.ok) {
      warnings.push(`ignoring override ${key}: ${JSON.stringify(text)} is not valid JSON`);
      continue;
    }
    const currentType = pythonTypeOf(current.value, binding.number);
    const givenType = pythonTypeOf(parsed.value, parsed.number);
    if (currentType !== "NoneType" && givenType !== "NoneType" && currentType !== givenType) {
      throw mismatch(key, currentType, pythonRepr(current.value, currentType), text, givenType);
    }
    binding.write(draft, parsed.value);
  }
  return {
    config: parseConfig(servableConfigSchema, draft, `servable config ${path} with overrides`),
    warnings,
  };
}
