/**
 * Cell and model naming rules of Sax: a cell is `/sax/<cell>`, a model id `/sax/<cell>/<model>`, and
 * both names match `^[a-z]+[a-z0-9-_]*$`. Every violation is INVALID_ARGUMENT.
 */
import { InvalidArgumentError } from "./errors.js";

/** The namespace prefix of every Sax name. */
export const SAX_PREFIX = "sax";

const NAME_RE = /^[a-z]+[a-z0-9\-_]*$/;

/** Throws unless `name` is a valid cell or model short name. */
export function validateName(name: string, what: "cell" | "model" = "model"): void {
  if (!NAME_RE.test(name)) {
    throw new InvalidArgumentError(`${what} name ${JSON.stringify(name)} must match ${NAME_RE.source}`);
  }
}

/** A validated cell id such as `/sax/test`, split into parts. */
export interface CellId {
  /** `/sax/<cell>` */
  readonly full: string;
  /** `<cell>` */
  readonly name: string;
}

/** A validated model id such as `/sax/test/lm`, split into parts. */
export interface ModelId {
  /** `/sax/<cell>/<model>` */
  readonly full: string;
  readonly cell: CellId;
  /** `<model>` */
  readonly name: string;
}

/** Parses `/sax/<cell>`; throws INVALID_ARGUMENT otherwise. */
export function parseCellId(full: string): CellId {
  const parts = full.split("/");
  if (parts.length !== 3 || parts[0] !== "" || parts[1] !== SAX_PREFIX) {
    throw new InvalidArgumentError(`cell ${JSON.stringify(full)} must have the form /sax/<cell>`);
  }
  const name = parts[2] ?? "";
  validateName(name, "cell");
  return { full, name };
}

/** Parses `/sax/<cell>/<model>`; the model name is checked before the cell part. */
export function parseModelId(full: string): ModelId {
  const slash = full.lastIndexOf("/");
  const name = slash < 0 ? full : full.slice(slash + 1);
  validateName(name, "model");
  if (slash < 0) {
    throw new InvalidArgumentError(`model id ${JSON.stringify(full)} must have the form /sax/<cell>/<model>`);
  }
  const cell = parseCellId(full.slice(0, slash));
  return { full, cell, name };
}

/** Parses a model id and checks that it belongs to `cell`. */
export function parseModelIdInCell(full: string, cell: CellId): ModelId {
  const id = parseModelId(full);
  if (id.cell.full !== cell.full) {
    throw new InvalidArgumentError(`model ${full} must be within SAX cell ${JSON.stringify(cell.full)}`);
  }
  return id;
}

/** What a name given to getacl/setacl refers to. */
export type CellOrModel = { kind: "cell"; cell: CellId } | { kind: "model"; model: ModelId };

/** Accepts a cell id or a model id (the `SaxCell` helper of Saxml). */
export function parseCellOrModel(name: string): CellOrModel {
  try {
    return { kind: "cell", cell: parseCellId(name) };
  } catch {
    return { kind: "model", model: parseModelId(name) };
  }
}
