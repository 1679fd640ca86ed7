/** Device mesh shapes of a servable (Saxml's ICI_MESH_SHAPE), shared by every config kind. */
import { z } from "zod";

const positiveInt = z.number().int().positive();

/** A device mesh shape (replica, data_mdl2, mdl). */
export const meshShapeSchema = z.tuple([positiveInt, positiveInt, positiveInt]);

/** A device mesh shape (replica, data_mdl2, mdl). */
export type MeshShape = z.infer<typeof meshShapeSchema>;

/** The shapes a servable may load with, tried in order. */
export const meshShapesSchema = z
  .array(meshShapeSchema)
  .min(1)
  .describe("mesh shapes tried in order; the first whose product is the device count wins (ICI_MESH_SHAPE)");
