import { afterEach, describe, expect, it } from "vitest";
import { SaxError } from "../../../src/common/errors.js";
import { createLogger } from "../../../src/common/log.js";
import { ModelStatus } from "../../../src/gen/sax/common.js";
import { ModeletDefinition } from "../../../src/gen/sax/modelet.js";
import { unaryClient } from "../../../src/grpc/client.js";
import { startGrpcServer, type GrpcServerHandle } from "../../../src/grpc/server.js";
import type { LoadRequest } from "../../../src/model-server/model-loader.js";
import { ModelTable } from "../../../src/model-server/model-table.js";
import { modeletService } from "../../../src/model-server/modelet-service.js";
import { FAKE_PATH, FakeLoader } from "../../helpers/fake-loader.js";

const INFO = { parameters: 7_000_000_000, weightsSeconds: 3.5, compileSeconds: 20.25, checkpointBytes: 14e9 };

/** A FakeLoader whose models report what their load cost, as LM workers do. */
class MeasuringLoader extends FakeLoader {
  override async load(request: LoadRequest) {
    return { ...(await super.load(request)), loadInfo: INFO };
  }
}

describe("Modelet GetStatus", () => {
  let server: GrpcServerHandle | undefined;
  afterEach(async () => server?.close());

  async function modeletWith(table: ModelTable) {
    server = await startGrpcServer({ host: "127.0.0.1", port: 0, services: [modeletService(table)] });
    return unaryClient(ModeletDefinition, `127.0.0.1:${server.port}`);
  }

  it("carries load_info of loaded models over the wire, large int64 values included", async () => {
    const modelet = await modeletWith(new ModelTable(new MeasuringLoader(), createLogger("test")));
    await modelet.load({ modelKey: "/sax/test/lm", modelPath: FAKE_PATH, checkpointPath: "None" });
    await modelet
      .load({ modelKey: "/sax/test/bad", modelPath: "x.Y", checkpointPath: "None" })
      .catch(() => 0);
    const { models } = await modelet.getStatus({});
    modelet.close();
    const lm = models.find((m) => m.modelKey === "/sax/test/lm");
    expect(lm?.modelStatus).toBe(ModelStatus.LOADED);
    expect(lm?.loadInfo).toMatchObject(INFO);
    expect(lm?.loadInfo?.loadSeconds).toBeGreaterThan(0);
    expect(models.find((m) => m.modelKey === "/sax/test/bad")?.loadInfo).toBeUndefined();
  });

  it("answers Load of a model too large for the server with RESOURCE_EXHAUSTED and its message", async () => {
    const loader = new FakeLoader();
    const message = "saxts.test.Echo needs about 9.0 GiB but this model server has 1.0 GiB available (x)";
    loader.load = () => Promise.reject(new SaxError("RESOURCE_EXHAUSTED", message));
    const modelet = await modeletWith(new ModelTable(loader, createLogger("test")));
    const load = modelet.load({ modelKey: "/sax/test/lm", modelPath: FAKE_PATH, checkpointPath: "None" });
    await expect(load).rejects.toMatchObject({ code: "RESOURCE_EXHAUSTED", message });
    const { models } = await modelet.getStatus({ includeFailureReasons: true });
    modelet.close();
    expect(models[0]).toMatchObject({ modelStatus: ModelStatus.FAILED, failureReason: message });
  });
});
