/**
 * The one place where SaxError and gRPC status meet: handlers throw SaxErrors, clients receive them back.
 */
import { Metadata, type status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";
import { Code, codeNameOf, SaxError, toSaxError } from "../common/errors.js";

/** A gRPC error object (what grpc-js callbacks accept) built from any thrown value. */
export function toServiceError(err: unknown): Partial<ServiceError> & { code: GrpcStatus; details: string } {
  const sax = toSaxError(err, "UNKNOWN");
  return {
    name: sax.name,
    message: sax.message,
    code: Code[sax.code],
    details: sax.message,
    metadata: new Metadata(),
  };
}

/** The SaxError a client should see for a failed gRPC call. */
export function fromServiceError(err: unknown, method?: string): SaxError {
  if (err instanceof SaxError) return err;
  if (isServiceError(err)) {
    return new SaxError(codeNameOf(err.code), err.details || err.message, { method, cause: err });
  }
  return toSaxError(err, "UNKNOWN");
}

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === "number";
}
