/** Assertions on failed calls. */
import { SaxError } from "../../src/common/errors.js";

/** The SaxError `promise` rejects with; throws if it resolves or rejects with something else. */
export async function rejection(promise: Promise<unknown>): Promise<SaxError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof SaxError) return err;
    throw new Error(`expected a SaxError, got ${String(err)}`, { cause: err });
  }
  throw new Error("expected the call to fail, but it succeeded");
}

/** The code of a SaxError's cause, if the cause is a SaxError. */
export function causeCode(err: SaxError): string | undefined {
  return err.cause instanceof SaxError ? err.cause.code : undefined;
}
