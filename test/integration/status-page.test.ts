import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModelStatus } from "../../src/gen/sax/common.js";
import { startFakeModelServer, type FakeModelServer } from "../helpers/fake-model-server.js";
import { eventually, startTestAdmin, type TestAdmin } from "../helpers/test-admin.js";

const PATH = "saxml.server.pax.lm.params.lm_cloud.LmCloudSpmd2BTest";

describe("admin status pages", () => {
  let cell: TestAdmin;
  let server: FakeModelServer;
  const get = (path: string) => fetch(`http://127.0.0.1:${cell.server.statusPort}${path}`);
  beforeAll(async () => {
    cell = await startTestAdmin();
    server = await startFakeModelServer();
    await server.join(cell.server.address, { servablePaths: [PATH] });
    await cell.client.publish({
      model: { modelId: "/sax/test/lm", modelPath: PATH, checkpointPath: "None", requestedNumReplicas: 1 },
    });
    await cell.client.waitForReady({ modelId: "/sax/test/lm", numReplicas: 1 }, { timeoutMs: 5000 });
    await cell.server.admin.refreshNow();
    // The page shows what the last GetStatus poll reported; wait for the poll that saw the load.
    await eventually(() =>
      cell.server.admin.servers.get(server.address)?.seen.get("/sax/test/lm")?.status === ModelStatus.LOADED
        ? true
        : undefined,
    );
  });
  afterAll(async () => {
    await server.close();
    await cell[Symbol.asyncDispose]();
  });

  it("shows the cell's models and servers on /", async () => {
    const res = await get("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const body = await res.text();
    expect(body).toContain("<title>/sax/test</title>");
    expect(body).toContain("/sax/test Cell Status");
    expect(body).toContain("<td>/sax/test/lm</td><td>1</td><td>1</td>");
    expect(body).toContain("CHIP_TYPE_CPU");
    expect(body).toContain(`${server.address}`);
  });

  it("shows one model and its servers", async () => {
    const body = await (await get("/model/sax/test/lm")).text();
    expect(body).toContain("/sax/test Model Status");
    expect(body).toContain("Model /sax/test/lm");
    expect(body).toContain("/sax/test/lm: LOADED");
  });

  it("shows one server", async () => {
    const body = await (await get(`/server/${server.address}`)).text();
    expect(body).toContain("/sax/test Server Status");
    expect(body).toContain(`Server ${server.address}`);
  });

  it("answers 500 with a plain message for an unknown model or server", async () => {
    const model = await get("/model/sax/test/nope");
    expect(model.status).toBe(500);
    expect(await model.text()).toMatch(/^Failed to list model "\/sax\/test\/nope": /);
    const unknown = await get("/server/1.2.3.4:5");
    expect(unknown.status).toBe(500);
    expect(await unknown.text()).toMatch(/^Failed to locate server 1\.2\.3\.4:5/);
  });
});
