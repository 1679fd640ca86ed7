/**
 * Parsing external input with zod at the edge: failures become one ConfigError naming each bad field.
 */
import type { z } from "zod";
import { ConfigError } from "../common/errors.js";

/** The help text (`.describe()`) of a field of an object schema. */
export function helpOf<S extends z.ZodObject>(schema: S, key: keyof S["shape"] & string): string {
  return (schema.shape[key] as z.ZodType).description ?? "";
}

/** Parses `input` with `schema`; throws ConfigError listing every issue as `<what>: <path>: <message>`. */
export function parseConfig<S extends z.ZodType>(schema: S, input: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => {
    const path = issue.path.length ? `${issue.path.join(".")}: ` : "";
    return `${path}${issue.message}`;
  });
  throw new ConfigError(`invalid ${what}: ${issues.join("; ")}`);
}
