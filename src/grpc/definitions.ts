/**
 * Adapts ts-proto's framework-neutral service descriptions (src/gen) to grpc-js, keeping request and
 * response types: `grpcService(AdminDefinition)` is a grpc-js ServiceDefinition whose methods are typed.
 */
import type {
  handleServerStreamingCall,
  handleUnaryCall,
  MethodDefinition,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";

/** The codec part of a generated message type. */
export interface MessageCodec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
}

/** One method of a generated service description. */
export interface GenericMethod<Req = unknown, Res = unknown> {
  readonly name: string;
  readonly requestType: MessageCodec<Req>;
  readonly responseType: MessageCodec<Res>;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
}

/** A codec of some message type (encode is contravariant, decode covariant). */
interface AnyCodec {
  encode(message: never): { finish(): Uint8Array };
  decode(input: Uint8Array): unknown;
}

/** A generated service description such as `AdminDefinition`. */
export interface GenericService {
  readonly fullName: string;
  readonly methods: Readonly<
    Record<
      string,
      {
        readonly name: string;
        readonly requestType: AnyCodec;
        readonly responseType: AnyCodec;
        readonly requestStream: boolean;
        readonly responseStream: boolean;
      }
    >
  >;
}

type RequestOf<M> = M extends { requestType: MessageCodec<infer R> } ? R : never;
type ResponseOf<M> = M extends { responseType: MessageCodec<infer R> } ? R : never;

/** grpc-js method definitions of a service, keyed like the generated description. */
export type GrpcMethods<S extends GenericService> = {
  [K in keyof S["methods"]]: MethodDefinition<RequestOf<S["methods"][K]>, ResponseOf<S["methods"][K]>>;
};

/** The handlers a service implementation must provide, unary or server-streaming per method. */
export type GrpcImplementation<S extends GenericService> = {
  [K in keyof S["methods"]]: S["methods"][K] extends { responseStream: true }
    ? handleServerStreamingCall<RequestOf<S["methods"][K]>, ResponseOf<S["methods"][K]>>
    : handleUnaryCall<RequestOf<S["methods"][K]>, ResponseOf<S["methods"][K]>>;
};

/** Converts a generated service description to typed grpc-js method definitions. */
export function grpcService<S extends GenericService>(service: S): GrpcMethods<S> {
  const methods: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const [key, method] of Object.entries(service.methods)) {
    const { requestType, responseType } = method as unknown as GenericMethod;
    methods[key] = {
      path: `/${service.fullName}/${method.name}`,
      requestStream: method.requestStream,
      responseStream: method.responseStream,
      originalName: key,
      requestSerialize: (value: unknown) => Buffer.from(requestType.encode(value).finish()),
      requestDeserialize: (bytes: Buffer) => requestType.decode(bytes),
      responseSerialize: (value: unknown) => Buffer.from(responseType.encode(value).finish()),
      responseDeserialize: (bytes: Buffer) => responseType.decode(bytes),
    };
  }
  return methods as GrpcMethods<S>;
}

/** Pairs a service description with its typed implementation, ready for {@link startGrpcServer}. */
export function bindService<S extends GenericService>(service: S, implementation: GrpcImplementation<S>) {
  return {
    definition: grpcService(service),
    implementation: implementation as unknown as UntypedServiceImplementation,
  };
}
