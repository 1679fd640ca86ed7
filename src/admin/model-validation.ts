/**
 * Validation of a Model message at Publish and Update, in Saxml's order (first failure wins).
 */
import { InvalidArgumentError } from "../common/errors.js";
import { parseModelIdInCell, type CellId, type ModelId } from "../common/naming.js";
import type { Model } from "../gen/sax/admin.js";
import type { AclPolicy } from "./acl.js";

const MODEL_PATH_RE = /^[a-zA-Z]+[a-zA-Z0-9_.-]*$/;
const CHECKPOINT_PATH_RE = /^[A-Za-z0-9_/.\-%:=|+]+$/;

/** Data methods whose ACLs a model may set. */
export const DATA_METHOD_NAMES: ReadonlySet<string> = new Set([
  "am.recognize",
  "lm.score",
  "lm.generate",
  "lm.generate_stream",
  "lm.embed",
  "lm.gradient",
  "mm.generate",
  "vm.classify",
  "vm.generate",
  "vm.embed",
  "vm.detect",
  "vm.image_to_text",
  "vm.image_to_image",
  "vm.text_and_image_to_text",
  "vm.video_to_text",
]);

/** Checks a Model for Publish/Update in `cell`; returns its parsed id. */
export function validateModel(model: Model, cell: CellId, acls: AclPolicy): ModelId {
  const id = parseModelIdInCell(model.modelId, cell);
  if (!MODEL_PATH_RE.test(model.modelPath)) {
    throw new InvalidArgumentError(
      `model path ${JSON.stringify(model.modelPath)} must match ${MODEL_PATH_RE.source}`,
    );
  }
  if (!CHECKPOINT_PATH_RE.test(model.checkpointPath)) {
    throw new InvalidArgumentError(
      `checkpoint path ${JSON.stringify(model.checkpointPath)} must be non-empty and use only letters, digits and _/.-%:=|+`,
    );
  }
  if (model.requestedNumReplicas < 0) {
    throw new InvalidArgumentError(`requested_num_replicas must be >= 0, got ${model.requestedNumReplicas}`);
  }
  if (model.adminAcl !== "") acls.validateName(model.adminAcl);
  for (const [method, acl] of Object.entries(model.acls?.items ?? {})) {
    if (!DATA_METHOD_NAMES.has(method)) {
      throw new InvalidArgumentError(
        `${JSON.stringify(method)} is not a data method; valid ones: ${[...DATA_METHOD_NAMES].join(", ")}`,
      );
    }
    acls.validateName(acl);
  }
  return id;
}
