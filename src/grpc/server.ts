/**
 * gRPC server lifecycle: bind, register services plus server reflection, and shut down gracefully.
 */
import {
  Server,
  ServerCredentials,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";
import { loadSync } from "@grpc/proto-loader";
import { fileURLToPath } from "node:url";
import { SaxError } from "../common/errors.js";

/** Folder holding our .proto files (proto/ at the package root). */
export const PROTO_DIR = fileURLToPath(new URL("../../proto", import.meta.url));

/** Every proto file we serve, relative to PROTO_DIR. */
const PROTO_FILES = [
  "sax/common.proto",
  "sax/admin.proto",
  "sax/modelet.proto",
  "sax/lm.proto",
  "sax/vision.proto",
];

/** A service to register: a generated definition and its implementation. */
export interface ServiceBinding {
  readonly definition: ServiceDefinition;
  readonly implementation: UntypedServiceImplementation;
}

/** Options of {@link startGrpcServer}. */
export interface GrpcServerOptions {
  /** Interface to bind, e.g. `0.0.0.0`, `[::]` or `127.0.0.1`. */
  readonly host: string;
  /** Port to bind; 0 picks a free one. */
  readonly port: number;
  readonly services: readonly ServiceBinding[];
}

/** A running gRPC server. */
export interface GrpcServerHandle extends AsyncDisposable {
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** Stops accepting calls; waits up to `graceMs` for running calls, then cancels them. */
  close(graceMs?: number): Promise<void>;
}

let reflection: ReflectionService | undefined;

function reflectionService(): ReflectionService {
  reflection ??= new ReflectionService(
    loadSync(PROTO_FILES, { includeDirs: [PROTO_DIR], keepCase: true, defaults: true }),
  );
  return reflection;
}

/** Starts a gRPC server with the given services and gRPC server reflection. */
export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServerHandle> {
  const server = new Server({ "grpc.max_receive_message_length": 256 * 1024 * 1024 });
  for (const { definition, implementation } of options.services)
    server.addService(definition, implementation);
  reflectionService().addToServer(server);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${options.host}:${options.port}`, ServerCredentials.createInsecure(), (err, bound) =>
      err
        ? reject(new SaxError("UNAVAILABLE", `cannot bind ${options.host}:${options.port}: ${err.message}`))
        : resolve(bound),
    );
  });
  const close = async (graceMs = 2000) => {
    const timer = setTimeout(() => server.forceShutdown(), graceMs);
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    clearTimeout(timer);
  };
  return { port, close, [Symbol.asyncDispose]: () => close() };
}
