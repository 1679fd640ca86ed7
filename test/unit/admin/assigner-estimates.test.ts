import { describe, expect, it } from "vitest";
import { planAssignment, type AssignerModel, type AssignerServer } from "../../../src/admin/assigner.js";
import { ModelServer_ChipTopology, ModelServer_ChipType } from "../../../src/gen/sax/admin.js";

const GIB = 2 ** 30;
const cpuServer: AssignerServer = {
  address: "10.0.0.1:1",
  chipType: ModelServer_ChipType.CHIP_TYPE_CPU,
  chipTopology: ModelServer_ChipTopology.CHIP_TOPOLOGY_1,
  servablePaths: ["p"],
  tags: [],
  models: new Map(),
};
const model = (id: string, estimatedBytes?: number): AssignerModel => ({
  id,
  path: "p",
  requestedReplicas: 1,
  overrides: {},
  ...(estimatedBytes === undefined ? {} : { estimatedBytes }),
});

describe("assigner with size estimates", () => {
  it("packs models of estimated size onto one server while they fit", () => {
    const plan = planAssignment(
      [model("/sax/t/a", 20 * GIB), model("/sax/t/b", 20 * GIB), model("/sax/t/c", 30 * GIB)],
      [cpuServer],
    );
    expect(plan.loads.map((l) => l.modelId)).toEqual(["/sax/t/c", "/sax/t/a"]);
  });

  it("lets a ram override win over the estimate", () => {
    const plan = planAssignment(
      [{ ...model("/sax/t/a", 60 * GIB), overrides: { ram: String(GIB) } }, model("/sax/t/b", 60 * GIB)],
      [cpuServer],
    );
    expect(plan.loads.map((l) => l.modelId)).toEqual(["/sax/t/b", "/sax/t/a"]);
  });

  it("gives a model of unknown size a server of its own", () => {
    const plan = planAssignment([model("/sax/t/a"), model("/sax/t/b", GIB)], [cpuServer]);
    expect(plan.loads).toHaveLength(1);
  });
});
