import fc from "fast-check";
import { describe, expect, it } from "vitest";

import {
  planAssignment,
  type AssignerModel,
  type AssignerServer,
  type AssignmentPlan,
  type Placement,
} from "../../../src/admin/assigner.js";
import { InvalidArgumentError } from "../../../src/common/errors.js";
import { bytesPerCore, coresOf } from "../../../src/common/platform.js";
import {
  ModelServer_ChipTopology as Topology,
  ModelServer_ChipType as ChipType,
} from "../../../src/gen/sax/admin.js";
import { ModelStatus } from "../../../src/gen/sax/common.js";

const GIB = 2 ** 30;
const PATH = "saxml.server.pax.lm.params.lm_cloud.LmCloudSpmd2BTest";
const { LOADED, LOADING, FAILED, UNLOADING, NONE } = ModelStatus;

/** A one-core TPU v4 server (16 GiB) listing PATH, holding `models`. */
function server(
  address: string,
  models: Record<string, ModelStatus> = {},
  options: Partial<AssignerServer> = {},
): AssignerServer {
  return {
    address,
    chipType: ChipType.CHIP_TYPE_TPU_V4,
    chipTopology: Topology.CHIP_TOPOLOGY_1X1,
    servablePaths: [PATH],
    tags: [],
    models: new Map(Object.entries(models)),
    ...options,
  };
}

/** A model of PATH wanting `requestedReplicas`, with the given overrides. */
function model(name: string, requestedReplicas = 1, overrides: Record<string, string> = {}): AssignerModel {
  return { id: `/sax/test/${name}`, path: PATH, requestedReplicas, overrides };
}

/** A model of `gib` GiB per core. */
function sized(name: string, gib: number, requestedReplicas = 1): AssignerModel {
  return model(name, requestedReplicas, { ram: String(gib * GIB) });
}

/** Placements as "address model" strings, for compact assertions. */
function show(placements: readonly Placement[]): string[] {
  return placements.map((p) => `${p.address} ${p.modelId.replace("/sax/test/", "")}`);
}

describe("planAssignment: unpublished models", () => {
  it("unloads models that are no longer published", () => {
    const plan = planAssignment([], [server("a", { "/sax/test/old": LOADED, "/sax/test/gone": FAILED })]);
    expect(show(plan.unloads)).toEqual(["a gone", "a old"]);
    expect(plan.loads).toEqual([]);
    expect(plan.assignment.size).toBe(0);
  });

  it("reuses the memory of unloaded models in the same plan", () => {
    const plan = planAssignment([sized("new", 10)], [server("a", { "/sax/test/old": LOADED })]);
    expect(show(plan.unloads)).toEqual(["a old"]);
    expect(show(plan.loads)).toEqual(["a new"]);
  });
});

describe("planAssignment: existing placements", () => {
  it("keeps a loaded replica where it is rather than moving it to an emptier server", () => {
    const plan = planAssignment([sized("m", 10)], [server("a", { "/sax/test/m": LOADED }), server("b")]);
    expect(plan.loads).toEqual([]);
    expect(plan.unloads).toEqual([]);
    expect(plan.assignment.get("/sax/test/m")).toEqual(["a"]);
  });

  it("keeps placements that no longer fit in memory", () => {
    const servers = [server("a", { "/sax/test/m": LOADED, "/sax/test/n": LOADING })];
    const plan = planAssignment([sized("m", 12), sized("n", 12)], servers);
    expect(plan.unloads).toEqual([]);
    expect(plan.assignment.get("/sax/test/n")).toEqual(["a"]);
  });

  it("keeps placements on servers that no longer list the path or carry the tags", () => {
    const servers = [server("a", { "/sax/test/m": LOADED }, { servablePaths: [], tags: [] })];
    const plan = planAssignment([model("m", 1, { constraints: "big" })], servers);
    expect(plan.unloads).toEqual([]);
    expect(plan.assignment.get("/sax/test/m")).toEqual(["a"]);
  });

  it("counts kept placements against free memory", () => {
    const plan = planAssignment([sized("m", 10), sized("n", 10)], [server("a", { "/sax/test/m": LOADED })]);
    expect(plan.loads).toEqual([]);
    expect(plan.assignment.get("/sax/test/n")).toEqual([]);
  });
});

describe("planAssignment: over-replicated models", () => {
  it("unloads FAILED, then in-progress, then LOADED replicas", () => {
    const id = "/sax/test/m";
    const servers = [
      server("a", { [id]: LOADED }),
      server("b", { [id]: LOADING }),
      server("c", { [id]: FAILED }),
      server("d", { [id]: UNLOADING }),
    ];
    expect(show(planAssignment([model("m", 3)], servers).unloads)).toEqual(["c m"]);
    expect(show(planAssignment([model("m", 1)], servers).unloads)).toEqual(["b m", "c m", "d m"]);
  });

  it("treats NONE like an in-progress replica", () => {
    const id = "/sax/test/m";
    const servers = [server("a", { [id]: NONE }), server("b", { [id]: LOADED })];
    expect(show(planAssignment([model("m", 1)], servers).unloads)).toEqual(["a m"]);
  });

  it("unloads the highest addresses first among equally useful replicas", () => {
    const id = "/sax/test/m";
    const servers = ["a", "c", "b", "d"].map((address) => server(address, { [id]: LOADED }));
    const plan = planAssignment([model("m", 2)], servers);
    expect(show(plan.unloads)).toEqual(["c m", "d m"]);
    expect(plan.assignment.get(id)).toEqual(["a", "b"]);
  });

  it("unloads every replica when the model asks for none", () => {
    const id = "/sax/test/m";
    const plan = planAssignment(
      [model("m", 0)],
      [server("a", { [id]: LOADED }), server("b", { [id]: FAILED })],
    );
    expect(show(plan.unloads)).toEqual(["a m", "b m"]);
    expect(plan.assignment.get(id)).toEqual([]);
  });
});

describe("planAssignment: candidate servers", () => {
  it("loads only on servers listing the model path exactly", () => {
    const servers = [
      server("a", {}, { servablePaths: [`${PATH}Alias`, PATH.toLowerCase()] }),
      server("b", {}, { servablePaths: ["other.Path", PATH] }),
    ];
    expect(show(planAssignment([model("m", 2)], servers).loads)).toEqual(["b m"]);
  });

  it("never places two replicas of a model on one server", () => {
    const plan = planAssignment([sized("m", 1, 3)], [server("a", { "/sax/test/m": LOADED }), server("b")]);
    expect(show(plan.loads)).toEqual(["b m"]);
    expect(plan.assignment.get("/sax/test/m")).toEqual(["a", "b"]);
  });

  it("requires every tag of the constraints override, ignoring empty entries and blanks", () => {
    const servers = [
      server("a", {}, { tags: ["tpu"] }),
      server("b", {}, { tags: ["tpu", "big", "eu"] }),
      server("c", {}, { tags: ["big", "eu"] }),
    ];
    const plan = planAssignment([model("m", 3, { constraints: "tpu,, big ," })], servers);
    expect(show(plan.loads)).toEqual(["b m"]);
  });

  it("leaves a model unassigned when no server lists its path", () => {
    const plan = planAssignment([{ ...model("m"), path: "unknown.Path" }], [server("a")]);
    expect(plan.loads).toEqual([]);
    expect(plan.assignment.get("/sax/test/m")).toEqual([]);
  });

  it("never loads a model that asks for no replicas, yet lists it in the assignment", () => {
    const plan = planAssignment([model("m", 0)], [server("a")]);
    expect(plan.loads).toEqual([]);
    expect([...plan.assignment]).toEqual([["/sax/test/m", []]]);
  });
});

describe("planAssignment: memory", () => {
  it("packs several models on one server while they fit", () => {
    const plan = planAssignment([sized("m", 6), sized("n", 6), sized("o", 6)], [server("a")]);
    expect(show(plan.loads)).toEqual(["a m", "a n"]);
  });

  it("skips servers without enough free memory", () => {
    const servers = [server("a"), server("b", {}, { chipType: ChipType.CHIP_TYPE_GPU_A100 })];
    expect(show(planAssignment([sized("m", 20, 2)], servers).loads)).toEqual(["b m"]);
  });

  it("compares per core: ram<C> applies on a C-core server, ram elsewhere", () => {
    const twoByTwo = { chipTopology: Topology.CHIP_TOPOLOGY_2X2 };
    const servers = [server("a", {}, twoByTwo), server("b")];
    const big = model("m", 2, { ram: String(20 * GIB), ram4: String(5 * GIB) });
    expect(show(planAssignment([big], servers).loads)).toEqual(["a m"]);
    const small = model("m", 2, { ram: String(5 * GIB), ram4: String(20 * GIB) });
    expect(show(planAssignment([small], servers).loads)).toEqual(["b m"]);
  });

  it("falls back to ram when the server's core count has no ram<C> entry", () => {
    const servers = [server("a", {}, { chipTopology: Topology.CHIP_TOPOLOGY_2X4 })];
    const plan = planAssignment([model("m", 1, { ram: String(20 * GIB), ram4: "1" })], servers);
    expect(plan.loads).toEqual([]);
  });

  it("lets ram1 take precedence over ram", () => {
    const plan = planAssignment([model("m", 1, { ram: "1", ram1: String(20 * GIB) })], [server("a")]);
    expect(plan.loads).toEqual([]);
  });

  it("gives a model of unknown size a whole server of its own", () => {
    const servers = [server("a", { "/sax/test/small": LOADED }), server("b")];
    const plan = planAssignment([sized("small", 1), model("m", 2), model("n", 1)], servers);
    expect(show(plan.loads)).toEqual(["b m"]);
    expect(plan.assignment.get("/sax/test/n")).toEqual([]);
  });

  it("keeps known-size models off a server taken by a model of unknown size", () => {
    const plan = planAssignment([model("m"), sized("small", 1)], [server("a", { "/sax/test/m": LOADED })]);
    expect(plan.loads).toEqual([]);
    expect(plan.assignment.get("/sax/test/small")).toEqual([]);
  });

  it.each(["1GiB", "-5", "1.5", "", " 5", "1e3", "99999999999999999999"])(
    "ignores unparsable ram value %j, treating the size as unknown",
    (value) => {
      const servers = [server("a", { "/sax/test/x": LOADED }), server("b")];
      const plan = planAssignment([sized("x", 1), model("m", 2, { ram: value })], servers);
      expect(show(plan.loads)).toEqual(["b m"]);
    },
  );

  it("ignores ram keys with a non-numeric core count", () => {
    const servers = [server("a", { "/sax/test/x": LOADED })];
    const plan = planAssignment([sized("x", 1), model("m", 1, { ramX: "1", rams: "1" })], servers);
    expect(plan.loads).toEqual([]);
  });

  it("lets zero-byte models share even a fully taken server", () => {
    const servers = [server("a", { "/sax/test/big": LOADED })];
    const plan = planAssignment([model("big"), model("m", 1, { ram: "0" })], servers);
    expect(show(plan.loads)).toEqual(["a m"]);
  });
});

describe("planAssignment: order", () => {
  it("places bigger models first", () => {
    const plan = planAssignment([sized("a-small", 4), sized("z-big", 14)], [server("s")]);
    expect(show(plan.loads)).toEqual(["s z-big"]);
  });

  it("places models of unknown size before sized ones", () => {
    const plan = planAssignment([sized("a-small", 1), model("z-unknown")], [server("s")]);
    expect(show(plan.loads)).toEqual(["s z-unknown"]);
  });

  it("breaks size ties by model id", () => {
    const plan = planAssignment([sized("b", 10), sized("a", 10)], [server("s")]);
    expect(show(plan.loads)).toEqual(["s a"]);
  });

  it("spreads replicas over the servers with the most free memory", () => {
    const servers = [server("a", { "/sax/test/x": LOADED }), server("b"), server("c")];
    const plan = planAssignment([sized("x", 4), sized("m", 2), sized("n", 2)], servers);
    expect(show(plan.loads)).toEqual(["b m", "c n"]);
  });

  it("prefers servers with fewer models, then lower addresses, when free memory ties", () => {
    const servers = [server("a", { "/sax/test/zero": LOADED }), server("c"), server("b")];
    const plan = planAssignment([model("zero", 1, { ram: "0" }), sized("m", 1, 2)], servers);
    expect(show(plan.loads)).toEqual(["b m", "c m"]);
  });
});

describe("planAssignment: plan shape", () => {
  it("gives one server several unloads and loads in one plan", () => {
    const servers = [server("a", { "/sax/test/old1": LOADED, "/sax/test/old2": FAILED })];
    const plan = planAssignment([sized("m", 4), sized("n", 4)], servers);
    expect(show(plan.unloads)).toEqual(["a old1", "a old2"]);
    expect(show(plan.loads)).toEqual(["a m", "a n"]);
  });

  it("lists every published model in the assignment, sorted by id", () => {
    const servers = [server("b", { "/sax/test/m": LOADED }), server("a")];
    const plan = planAssignment([sized("m", 1, 2), model("z", 0), model("a", 0)], servers);
    expect([...plan.assignment]).toEqual([
      ["/sax/test/a", []],
      ["/sax/test/m", ["a", "b"]],
      ["/sax/test/z", []],
    ]);
  });

  it("rejects two models with one id", () => {
    const act = () => planAssignment([model("m"), model("m")], []);
    expect(act).toThrow(InvalidArgumentError);
    expect(act).toThrow("model /sax/test/m is listed twice");
  });

  it("rejects two servers with one address", () => {
    const act = () => planAssignment([], [server("a"), server("b"), server("a")]);
    expect(act).toThrow(InvalidArgumentError);
    expect(act).toThrow("server a is listed twice");
  });
});

// ---- Properties -------------------------------------------------------------------------------------

const PATHS = ["p1", "p2", "p3"];
const TAGS = ["t1", "t2"];
const MODEL_IDS = ["m0", "m1", "m2", "m3", "m4", "m5"].map((name) => `/sax/c/${name}`);
const HELD_IDS = [...MODEL_IDS, "/sax/c/gone"];
const STATUSES = [NONE, LOADING, LOADED, FAILED, UNLOADING];

const ramValue = fc.oneof(
  fc.integer({ min: 0, max: 80 }).map((gib) => String(gib * GIB)),
  fc.integer({ min: 0, max: 8 * GIB }).map(String),
  fc.constantFrom("x", "-1", "1.5", ""),
);

const overridesArb = fc
  .record(
    { ram: ramValue, ram1: ramValue, ram4: ramValue, constraints: fc.subarray(TAGS).map((t) => t.join(",")) },
    { requiredKeys: [] },
  )
  .map(
    (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Record<string, string>,
  );

const modelsArb = fc.uniqueArray(
  fc.record({
    id: fc.constantFrom(...MODEL_IDS),
    path: fc.constantFrom(...PATHS),
    requestedReplicas: fc.integer({ min: 0, max: 4 }),
    overrides: overridesArb,
  }),
  { selector: (m) => m.id, maxLength: MODEL_IDS.length },
);

const serversArb = fc.uniqueArray(
  fc.record({
    address: fc.constantFrom("s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"),
    chipType: fc.constantFrom(ChipType.CHIP_TYPE_TPU_V4, ChipType.CHIP_TYPE_GPU_A100, ChipType.CHIP_TYPE_CPU),
    chipTopology: fc.constantFrom(
      Topology.CHIP_TOPOLOGY_1,
      Topology.CHIP_TOPOLOGY_2X2,
      Topology.CHIP_TOPOLOGY_2X4,
    ),
    servablePaths: fc.subarray(PATHS),
    tags: fc.subarray(TAGS),
    models: fc
      .uniqueArray(fc.tuple(fc.constantFrom(...HELD_IDS), fc.constantFrom(...STATUSES)), {
        selector: ([id]) => id,
      })
      .map((entries) => new Map(entries)),
  }),
  { selector: (s) => s.address, maxLength: 8 },
);

/** Independent statement of a model's per-core need on a server (rule 5 of the module). */
function needOn(m: AssignerModel, s: AssignerServer): number {
  const parse = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined);
  const ram = m.overrides;
  return (
    parse(ram[`ram${coresOf(s.chipTopology)}`]) ??
    parse(ram["ram1"]) ??
    parse(ram["ram"]) ??
    bytesPerCore(s.chipType)
  );
}

/** The servers after the plan ran: unloads done, loads reported LOADED. */
function apply(servers: readonly AssignerServer[], plan: AssignmentPlan): AssignerServer[] {
  return servers.map((s) => {
    const models = new Map(s.models);
    for (const u of plan.unloads) if (u.address === s.address) models.delete(u.modelId);
    for (const l of plan.loads) if (l.address === s.address) models.set(l.modelId, LOADED);
    return { ...s, models };
  });
}

function holders(servers: readonly AssignerServer[], modelId: string): string[] {
  return servers.filter((s) => s.models.has(modelId)).map((s) => s.address);
}

describe("planAssignment properties", () => {
  const input = fc.tuple(modelsArb, serversArb);

  it("never fills a server it loads onto beyond its per-core memory", () => {
    fc.assert(
      fc.property(input, ([models, servers]) => {
        const plan = planAssignment(models, servers);
        const after = apply(servers, plan);
        const loaded = new Set(plan.loads.map((l) => l.address));
        for (const s of after.filter((s) => loaded.has(s.address))) {
          const used = models.filter((m) => s.models.has(m.id)).reduce((t, m) => t + needOn(m, s), 0);
          expect(used).toBeLessThanOrEqual(bytesPerCore(s.chipType));
        }
      }),
    );
  });

  it("loads only on servers listing the path and carrying the constraint tags", () => {
    fc.assert(
      fc.property(input, ([models, servers]) => {
        for (const load of planAssignment(models, servers).loads) {
          const s = servers.find((x) => x.address === load.address);
          const m = models.find((x) => x.id === load.modelId);
          expect(s?.servablePaths).toContain(m?.path);
          for (const tag of (m?.overrides["constraints"] ?? "").split(",").filter(Boolean)) {
            expect(s?.tags).toContain(tag);
          }
        }
      }),
    );
  });

  it("never loads a model on a server that keeps it, nor twice on one server", () => {
    fc.assert(
      fc.property(input, ([models, servers]) => {
        const plan = planAssignment(models, servers);
        const after = apply(servers, { ...plan, loads: [] });
        for (const load of plan.loads) {
          expect(after.find((s) => s.address === load.address)?.models.has(load.modelId)).toBe(false);
        }
        expect(new Set(show(plan.loads)).size).toBe(plan.loads.length);
      }),
    );
  });

  it("unloads only models the server holds, and every unpublished one", () => {
    fc.assert(
      fc.property(input, ([models, servers]) => {
        const plan = planAssignment(models, servers);
        const after = apply(servers, plan);
        for (const u of plan.unloads) {
          expect(servers.find((s) => s.address === u.address)?.models.has(u.modelId)).toBe(true);
        }
        expect(holders(after, "/sax/c/gone")).toEqual([]);
      }),
    );
  });

  it("never leaves a model with more replicas than requested", () => {
    fc.assert(
      fc.property(input, ([models, servers]) => {
        const after = apply(servers, planAssignment(models, servers));
        for (const m of models) expect(holders(after, m.id).length).toBeLessThanOrEqual(m.requestedReplicas);
      }),
    );
  });

  it("reports exactly the post-plan placements as the assignment", () => {
    fc.assert(
      fc.property(input, ([models, servers]) => {
        const plan = planAssignment(models, servers);
        const after = apply(servers, plan);
        const expected = models.map((m) => [m.id, holders(after, m.id).sort()] as const);
        expect([...plan.assignment].sort()).toEqual(expected.sort());
      }),
    );
  });

  it("converges: planning again after the plan ran changes nothing", () => {
    fc.assert(
      fc.property(input, ([models, servers]) => {
        const plan = planAssignment(models, servers);
        const again = planAssignment(models, apply(servers, plan));
        expect(again.loads).toEqual([]);
        expect(again.unloads).toEqual([]);
        expect(again.assignment).toEqual(plan.assignment);
      }),
    );
  });

  it("gives the same plan for the same input in any order", () => {
    fc.assert(
      fc.property(input, ([models, servers]) => {
        const reversed = servers.map((s) => ({ ...s, models: new Map([...s.models].reverse()) })).reverse();
        const plan = planAssignment(models, servers);
        expect(planAssignment(models, servers)).toEqual(plan);
        expect(planAssignment([...models].reverse(), reversed)).toEqual(plan);
      }),
    );
  });

  it("gives every model its requested replicas when capacity suffices", () => {
    const roomy = serversArb.chain((servers) =>
      fc.tuple(
        fc.uniqueArray(
          fc.record({
            id: fc.constantFrom(...MODEL_IDS),
            path: fc.constantFrom(...PATHS),
            requestedReplicas: fc.integer({ min: 0, max: servers.length }),
            overrides: fc.constant({ ram: String(GIB) }),
          }),
          { selector: (m) => m.id },
        ),
        fc.constant(servers.map((s) => ({ ...s, servablePaths: PATHS }))),
      ),
    );
    fc.assert(
      fc.property(roomy, ([models, servers]) => {
        const after = apply(servers, planAssignment(models, servers));
        for (const m of models) expect(holders(after, m.id).length).toBe(m.requestedReplicas);
      }),
    );
  });
});
