import { describe, expect, it } from "vitest";
import { createLogger } from "../../../src/common/log.js";
import { ModelServer_ChipType } from "../../../src/gen/sax/admin.js";
import {
  deviceMemoryProbe,
  formatBytes,
  hostMemoryProbe,
  MemoryBudget,
  parseMemAvailable,
  refusalMessage,
  type BudgetRequest,
  type MemoryProbe,
} from "../../../src/model-server/memory-budget.js";

const GIB = 2 ** 30;
const log = createLogger("test");

const MEMINFO = `MemTotal:       65856812 kB
MemFree:         1234567 kB
MemAvailable:   22437888 kB
Buffers:          123456 kB
Cached:         20000000 kB
`;

/** A request for `gib` GiB in total, of which 1/1.2 weights in bfloat16. */
function request(gib: number, modelKey = "/sax/test/m"): BudgetRequest {
  const totalBytes = gib * GIB;
  return {
    modelKey,
    modelPath: "saxts.test.Big",
    estimate: { totalBytes, weights: { bytes: totalBytes / 1.2, dtype: "bfloat16" }, headroom: 0.2 },
  };
}

const fixed = (gib: number, source = "free host memory"): MemoryProbe => ({
  measure: () => Promise.resolve({ bytes: gib * GIB, source }),
});

describe("refusalMessage", () => {
  it("names what the model needs, its parts, what the server has and what was measured", () => {
    const message = refusalMessage(
      request(165.3, "/sax/test/big"),
      { bytes: 21.4 * GIB, source: "free host memory" },
      { count: 0, bytes: 0 },
    );
    expect(message).toBe(
      "saxts.test.Big needs about 165.3 GiB (weights 137.8 GiB in bfloat16 + 20% headroom) but this model " +
        "server has 21.4 GiB available (free host memory); use a smaller model, a quantized variant, or a " +
        "server with more memory",
    );
  });

  it("says how much the models already loaded take from what was measured", () => {
    const message = refusalMessage(
      request(30),
      { bytes: 40 * GIB, source: "free host memory" },
      {
        count: 2,
        bytes: 18.5 * GIB,
      },
    );
    expect(message).toContain(
      "has 21.5 GiB available (free host memory: 40.0 GiB, less 18.5 GiB estimated for the 2 models it already loaded)",
    );
  });

  it("leaves out the weights for servables without an architecture", () => {
    const echo = {
      modelKey: "/sax/test/e",
      modelPath: "saxts.test.Echo",
      estimate: { totalBytes: 2 ** 20, headroom: 0.2 },
    };
    expect(refusalMessage(echo, { bytes: 0, source: "x" }, { count: 0, bytes: 0 })).toMatch(
      /^saxts.test.Echo needs about 1.0 MiB but this model server has 0.0 MiB available \(x\)/,
    );
  });
});

describe("formatBytes", () => {
  it("uses GiB from one GiB up and MiB below", () => {
    expect([formatBytes(1.5 * GIB), formatBytes(12.5 * 2 ** 20)]).toEqual(["1.5 GiB", "12.5 MiB"]);
  });
});

describe("host memory probe", () => {
  it("reads MemAvailable from /proc/meminfo", async () => {
    expect(parseMemAvailable(MEMINFO)).toBe(22437888 * 1024);
    const measured = await hostMemoryProbe(() => Promise.resolve(MEMINFO)).measure();
    expect(measured).toEqual({
      bytes: 22437888 * 1024,
      source: "free host memory, MemAvailable in /proc/meminfo",
    });
  });

  it("falls back to os.freemem() without a MemAvailable line", async () => {
    expect(parseMemAvailable("MemTotal: 100 kB\nMemFree: 50 kB\n")).toBeUndefined();
    const measured = await hostMemoryProbe(() => Promise.reject(new Error("ENOENT"))).measure();
    expect(measured?.source).toBe("free host memory, os.freemem()");
    expect(measured?.bytes).toBeGreaterThan(0);
  });
});

describe("device memory probe", () => {
  it("multiplies the chip's memory per core by the device count", async () => {
    expect(await deviceMemoryProbe(ModelServer_ChipType.CHIP_TYPE_GPU_H100, 8).measure()).toEqual({
      bytes: 8 * 80 * GIB,
      source: "device memory, 8 × 80.0 GiB of H100 per --platform_chip and --platform_topology",
    });
  });

  it("is unknown for an unknown chip or a CPU chip on an accelerator platform", async () => {
    expect(await deviceMemoryProbe(ModelServer_ChipType.CHIP_TYPE_UNKNOWN, 4).measure()).toBeUndefined();
    expect(await deviceMemoryProbe(ModelServer_ChipType.CHIP_TYPE_CPU, 1).measure()).toBeUndefined();
  });
});

describe("MemoryBudget", () => {
  it("refuses a model larger than the memory with RESOURCE_EXHAUSTED", async () => {
    const budget = new MemoryBudget(fixed(21.4), log);
    await expect(budget.reserve(request(165.3))).rejects.toMatchObject({
      code: "RESOURCE_EXHAUSTED",
      model: "/sax/test/m",
      message: expect.stringContaining("needs about 165.3 GiB") as string,
    });
    expect(budget.reservedBytes).toBe(0);
  });

  it("counts the models already loaded against the memory", async () => {
    const budget = new MemoryBudget(fixed(10), log);
    await budget.reserve(request(6, "/sax/test/a"));
    await expect(budget.reserve(request(6, "/sax/test/b"))).rejects.toMatchObject({
      code: "RESOURCE_EXHAUSTED",
      message: expect.stringContaining("has 4.0 GiB available") as string,
    });
    await expect(budget.reserve(request(4, "/sax/test/c"))).resolves.toMatchObject({ bytes: 4 * GIB });
  });

  it("gives the memory back when a model is released, once", async () => {
    const budget = new MemoryBudget(fixed(10), log);
    const first = await budget.reserve(request(6, "/sax/test/a"));
    const second = await budget.reserve(request(3, "/sax/test/b"));
    first.release();
    first.release();
    expect(budget.reservedBytes).toBe(3 * GIB);
    await expect(budget.reserve(request(7, "/sax/test/c"))).resolves.toBeDefined();
    second.release();
  });

  it("admits anything when the memory is unknown", async () => {
    const budget = new MemoryBudget({ measure: () => Promise.resolve(undefined) }, log);
    await expect(budget.reserve(request(1000))).resolves.toMatchObject({ bytes: 1000 * GIB });
  });
});
