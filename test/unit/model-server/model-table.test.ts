import { beforeEach, describe, expect, it } from "vitest";
import { SaxError } from "../../../src/common/errors.js";
import { createLogger } from "../../../src/common/log.js";
import { ModelStatus } from "../../../src/gen/sax/common.js";
import { ModelTable } from "../../../src/model-server/model-table.js";
import type { LoadRequest, ModelLoadInfo } from "../../../src/model-server/model-loader.js";
import { FAKE_PATH, FakeLoader } from "../../helpers/fake-loader.js";

/** A FakeLoader whose models report what their load cost, as LM workers do. */
class MeasuringLoader extends FakeLoader {
  constructor(private readonly info: ModelLoadInfo) {
    super();
  }

  override async load(request: LoadRequest) {
    return { ...(await super.load(request)), loadInfo: this.info };
  }
}

const KEY = "/sax/test/m";
const spec = (fields: { modelPath?: string; checkpointPath?: string } = {}) => ({
  modelKey: KEY,
  modelPath: FAKE_PATH,
  checkpointPath: "None",
  overrides: {},
  acls: {},
  ...fields,
});

describe("ModelTable", () => {
  let loader: FakeLoader;
  let table: ModelTable;
  const status = () => table.statuses(true, false).find((m) => m.modelKey === KEY);
  beforeEach(() => {
    loader = new FakeLoader();
    table = new ModelTable(loader, createLogger("test"));
  });

  it("reports LOADING while a load runs, then LOADED with method stats", async () => {
    loader.loadDelayMs = 50;
    const loading = table.load(spec());
    expect(status()?.modelStatus).toBe(ModelStatus.LOADING);
    await loading;
    expect(status()?.modelStatus).toBe(ModelStatus.LOADED);
    expect(table.statuses(false, true)[0]?.methodStats.map((s) => s.method)).toEqual([
      "lm.generate",
      "lm.generate_stream",
    ]);
  });

  it("reports what a load cost in GetStatus, with the load time measured by the table", async () => {
    const info = {
      parameters: 3_280_640,
      weightsSeconds: 0.25,
      compileSeconds: 1.5,
      checkpointBytes: 2 ** 20,
    };
    table = new ModelTable(new MeasuringLoader(info), createLogger("test"));
    await table.load(spec());
    const loadInfo = table.statuses(false, false)[0]?.loadInfo;
    expect(loadInfo).toMatchObject({
      weightsSeconds: 0.25,
      compileSeconds: 1.5,
      checkpointBytes: 2 ** 20,
      parameters: 3_280_640,
    });
    expect(loadInfo?.loadSeconds).toBeGreaterThanOrEqual(0);
    expect(loadInfo?.loadSeconds).toBeLessThan(5);
  });

  it("reports zeros but the load time for a model that records no load cost", async () => {
    loader.loadDelayMs = 50;
    const loading = table.load(spec());
    expect(status()?.loadInfo).toBeUndefined();
    await loading;
    expect(status()?.loadInfo).toMatchObject({ weightsSeconds: 0, compileSeconds: 0, parameters: 0 });
    expect(status()?.loadInfo?.loadSeconds).toBeGreaterThanOrEqual(0.04);
  });

  it("reports no load cost for a failed load", async () => {
    await table.load(spec({ modelPath: "x.Y" })).catch(() => undefined);
    expect(status()?.loadInfo).toBeUndefined();
  });

  it("passes a RESOURCE_EXHAUSTED load failure through with its message", async () => {
    const tooBig = new FakeLoader();
    tooBig.load = () => Promise.reject(new SaxError("RESOURCE_EXHAUSTED", "m needs about 9.0 GiB but …"));
    table = new ModelTable(tooBig, createLogger("test"));
    await expect(table.load(spec())).rejects.toMatchObject({
      code: "RESOURCE_EXHAUSTED",
      message: "m needs about 9.0 GiB but …",
    });
    expect(status()).toMatchObject({
      modelStatus: ModelStatus.FAILED,
      failureReason: "m needs about 9.0 GiB but …",
    });
  });

  it("treats a Load of a known key as a no-op", async () => {
    await table.load(spec());
    await table.load(spec({ checkpointPath: "/other" }));
    expect(loader.loads).toHaveLength(1);
  });

  it("keeps a failed load as FAILED with its reason: INVALID_ARGUMENT for an unknown path", async () => {
    await expect(table.load(spec({ modelPath: "no.such.Model" }))).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: "Could not find servable model no.such.Model",
    });
    expect(status()).toMatchObject({
      modelStatus: ModelStatus.FAILED,
      failureReason: "Could not find servable model no.such.Model",
    });
  });

  it("reports other load failures as INTERNAL loading errors", async () => {
    loader.failWith = "out of memory";
    await expect(table.load(spec())).rejects.toMatchObject({
      code: "INTERNAL",
      message: "Loading error: out of memory",
    });
  });

  it("hides failure reasons unless asked", async () => {
    await table.load(spec({ modelPath: "x.Y" })).catch(() => undefined);
    expect(table.statuses(false, false)[0]?.failureReason).toBe("");
  });

  it("unloads a loaded model through its worker, and drops a failed one", async () => {
    await table.load(spec());
    await table.unload(KEY);
    expect([loader.unloads, table.keys()]).toEqual([[KEY], []]);
    await table.load(spec({ modelPath: "x.Y" })).catch(() => undefined);
    await table.unload(KEY);
    expect(table.keys()).toEqual([]);
  });

  it("rejects unloads of an empty or unknown key with Saxml's messages", async () => {
    await expect(table.unload("")).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: "model_key is not specified.",
    });
    await expect(table.unload(KEY)).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: `${KEY} not found, cannot unload.`,
    });
  });

  it("reloads on UpdateLoaded only when the checkpoint changed", async () => {
    await table.load(spec());
    await table.updateLoaded(KEY, "None", { "lm.generate": "" });
    expect(loader.loads).toHaveLength(1);
    await table.updateLoaded(KEY, "/ckpt/2", {});
    expect(loader.loads.map((l) => l.checkpointPath)).toEqual(["None", "/ckpt/2"]);
    expect(status()?.modelStatus).toBe(ModelStatus.LOADED);
  });

  it("answers NOT_FOUND to a checkpoint update of a model that is not loaded", async () => {
    await expect(table.updateLoaded(KEY, "/ckpt", {})).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: `Model ${KEY} not found.`,
    });
    await expect(table.updateLoaded(KEY, "", {})).resolves.toBeUndefined();
  });

  it("refuses a fifth waiting load with RESOURCE_EXHAUSTED", async () => {
    loader.loadDelayMs = 100;
    const loads = [1, 2, 3, 4].map((i) => table.load({ ...spec(), modelKey: `/sax/test/m${i}` }));
    await expect(table.load({ ...spec(), modelKey: "/sax/test/m5" })).rejects.toMatchObject({
      code: "RESOURCE_EXHAUSTED",
    });
    await Promise.all(loads);
    expect(table.keys()).toHaveLength(4);
  });

  it("shows a restarting worker as LOADING, a recovered one as LOADED and a lost one as FAILED", async () => {
    await table.load(spec());
    loader.emit(KEY, { kind: "restarting", reason: "worker exited with signal SIGKILL" });
    expect(status()?.modelStatus).toBe(ModelStatus.LOADING);
    loader.emit(KEY, { kind: "ready" });
    expect(status()?.modelStatus).toBe(ModelStatus.LOADED);
    loader.emit(KEY, { kind: "failed", reason: "worker keeps crashing" });
    expect(status()).toMatchObject({
      modelStatus: ModelStatus.FAILED,
      failureReason: "worker keeps crashing",
    });
  });
});
