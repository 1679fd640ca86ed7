/**
 * Arrays on the worker wire: a map of exactly `{dtype, shape, data}`, `data` the raw little-endian
 * bytes in row-major order. Cheaper than a msgpack array of floats, and exact for every dtype.
 */
import { z } from "zod";
import { SaxError } from "../common/errors.js";

/** Element types a tensor may carry, with their sizes in bytes. */
export const TENSOR_DTYPES = {
  float32: 4,
  float64: 8,
  int32: 4,
  int64: 8,
  uint8: 1,
  bool: 1,
  bfloat16: 2,
  float16: 2,
} as const;

/** A tensor element type name. */
export type TensorDtype = keyof typeof TENSOR_DTYPES;

/** A tensor as it travels: validated shape, raw bytes. */
export const tensorSchema = z
  .strictObject({
    dtype: z.enum(Object.keys(TENSOR_DTYPES) as [TensorDtype, ...TensorDtype[]]),
    shape: z.array(z.number().int().nonnegative()),
    data: z.instanceof(Uint8Array),
  })
  .refine((t) => t.data.length === byteLengthOf(t.dtype, t.shape), {
    message: "data length does not match dtype and shape",
  });

/** A tensor on the wire. */
export type Tensor = z.infer<typeof tensorSchema>;

function byteLengthOf(dtype: TensorDtype, shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1) * TENSOR_DTYPES[dtype];
}

/** Wraps a float32 array as a tensor of the given shape (default: one dimension). */
export function float32Tensor(values: Float32Array, shape: readonly number[] = [values.length]): Tensor {
  const data = new Uint8Array(values.length * 4);
  const view = new DataView(data.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return { dtype: "float32", shape: [...shape], data };
}

/** Reads a float32 or float64 tensor's values as numbers; throws SaxError INVALID_ARGUMENT otherwise. */
export function tensorToNumbers(value: unknown): number[] {
  const parsed = tensorSchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new SaxError("INVALID_ARGUMENT", `not a tensor: ${issues.join("; ")}`);
  }
  const { dtype, data } = parsed.data;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (dtype === "float32")
    return Array.from({ length: data.length / 4 }, (_, i) => view.getFloat32(i * 4, true));
  if (dtype === "float64")
    return Array.from({ length: data.length / 8 }, (_, i) => view.getFloat64(i * 8, true));
  throw new SaxError("INVALID_ARGUMENT", `tensor dtype ${dtype} is not a floating-point type`);
}
