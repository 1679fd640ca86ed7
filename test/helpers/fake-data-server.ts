/**
 * A model server stand-in for the data commands: a real gRPC server on loopback with a FakeModelet (so
 * that a test admin assigns models to it) plus LM and vision services answering scripted responses and
 * recording every request, so that tests can check both what a client prints and what it sent.
 *
 *   await using server = await startFakeDataServer({ lm: { generate: { texts: [...] } } });
 *   await server.join(admin.address, ["saxml.test.Lm"]);
 */
import type { ServerWritableStream, UntypedServiceImplementation } from "@grpc/grpc-js";
import { SaxError } from "../../src/common/errors.js";
import { AdminDefinition, ModelServer_ChipTopology, ModelServer_ChipType } from "../../src/gen/sax/admin.js";
import {
  LMServiceDefinition,
  type EmbedResponse,
  type GenerateResponse,
  type GenerateStreamResponse,
  type GradientResponse,
  type ScoreResponse,
} from "../../src/gen/sax/lm.js";
import { ModeletDefinition } from "../../src/gen/sax/modelet.js";
import {
  VisionServiceDefinition,
  type ClassifyResponse,
  type DetectResponse,
  type EmbedResponse as ImageEmbedResponse,
  type TextToImageResponse,
} from "../../src/gen/sax/vision.js";
import { callUnary, openChannel } from "../../src/grpc/client.js";
import { bindService, grpcService, type GenericService } from "../../src/grpc/definitions.js";
import { unary } from "../../src/grpc/handlers.js";
import { startGrpcServer } from "../../src/grpc/server.js";
import { toServiceError } from "../../src/grpc/status.js";
import { FakeModelet } from "./fake-model-server-modelet.js";

/** Scripted answers; a method without one fails with UNIMPLEMENTED. */
export interface ScriptedAnswers {
  readonly lm?: {
    readonly generate?: GenerateResponse;
    /** The messages of every GenerateStream call. */
    readonly generateStream?: readonly GenerateStreamResponse[];
    readonly score?: ScoreResponse;
    readonly embed?: EmbedResponse;
    readonly gradient?: GradientResponse;
  };
  readonly vision?: {
    readonly classify?: ClassifyResponse;
    readonly textToImage?: TextToImageResponse;
    readonly embed?: ImageEmbedResponse;
    readonly detect?: DetectResponse;
  };
}

/** A running fake data server. */
export interface FakeDataServer extends AsyncDisposable {
  readonly address: string;
  /** Requests received, by `<service>.<method>` (e.g. `lm.generate`, `vision.detect`), oldest first. */
  readonly requests: ReadonlyMap<string, readonly unknown[]>;
  /** Joins the admin at `adminAddress`, listing `servablePaths`. */
  join(adminAddress: string, servablePaths: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** Starts a fake data server; `methodNames` are what its GetStatus reports for loaded models. */
export async function startFakeDataServer(
  answers: ScriptedAnswers,
  methodNames: readonly string[] = ["lm.generate"],
): Promise<FakeDataServer> {
  const modelet = new FakeModelet({ methodNames });
  const requests = new Map<string, unknown[]>();
  const record = (key: string, request: unknown) =>
    requests.set(key, [...(requests.get(key) ?? []), request]);
  const lm = scripted(LMServiceDefinition, "lm", answers.lm ?? {}, record);
  lm.generateStream = (call: ServerWritableStream<unknown, unknown>) => {
    record("lm.generateStream", call.request);
    const messages = answers.lm?.generateStream;
    if (messages === undefined) {
      call.emit("error", toServiceError(new SaxError("UNIMPLEMENTED", "no scripted lm.generateStream")));
      return;
    }
    for (const message of messages) call.write(message);
    call.end();
  };
  const grpc = await startGrpcServer({
    host: "127.0.0.1",
    port: 0,
    services: [
      bindService(ModeletDefinition, {
        load: unary((req, ctx) => modelet.load(req, ctx.signal)),
        updateLoaded: unary((req, ctx) => modelet.updateLoaded(req, ctx.signal)),
        unload: unary((req, ctx) => modelet.unload(req, ctx.signal)),
        export: unary((req, ctx) => modelet.export(req, ctx.signal)),
        getStatus: unary((req, ctx) => modelet.getStatus(req, ctx.signal)),
        save: unary((req, ctx) => modelet.save(req, ctx.signal)),
        wakeUp: unary((req, ctx) => modelet.wakeUp(req, ctx.signal)),
      }),
      { definition: grpcService(LMServiceDefinition), implementation: lm },
      {
        definition: grpcService(VisionServiceDefinition),
        implementation: scripted(VisionServiceDefinition, "vision", answers.vision ?? {}, record),
      },
    ],
  });
  const address = `127.0.0.1:${grpc.port}`;
  const close = () => {
    modelet.shutdown();
    return grpc.close(0);
  };
  return {
    address,
    requests,
    join: (adminAddress, servablePaths) => join(adminAddress, address, servablePaths),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Unary handlers for every method of `service`: the scripted answer, else UNIMPLEMENTED. */
function scripted(
  service: GenericService,
  prefix: string,
  answers: Readonly<Record<string, unknown>>,
  record: (key: string, request: unknown) => void,
): UntypedServiceImplementation {
  const implementation: UntypedServiceImplementation = {};
  for (const name of Object.keys(service.methods)) {
    implementation[name] = unary((request: unknown) => {
      record(`${prefix}.${name}`, request);
      const answer = answers[name];
      if (answer === undefined) throw new SaxError("UNIMPLEMENTED", `no scripted ${prefix}.${name}`);
      return answer;
    });
  }
  return implementation;
}

async function join(adminAddress: string, address: string, servablePaths: readonly string[]): Promise<void> {
  const client = openChannel(adminAddress);
  try {
    const modelServer = {
      chipType: ModelServer_ChipType.CHIP_TYPE_CPU,
      chipTopology: ModelServer_ChipTopology.CHIP_TOPOLOGY_1,
      servableModelPaths: [...servablePaths],
      tags: [],
    };
    const request = { address, modelServer, debugAddress: "", dataAddress: "" };
    await callUnary(client, grpcService(AdminDefinition).join, request, { timeoutMs: 10_000 });
  } finally {
    client.close();
  }
}
