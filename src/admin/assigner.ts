/**
 * The admin's assigner: at every refresh it decides which published models go on which joined model
 * servers. It is pure (input in, plan out); the refresh cycle applies the plan, unloads first, through
 * each server's mirror, whose FIFO action queue makes a server's unloads run before its loads.
 *
 * It improves on Saxml's default assigner (one model per server, chip and memory ignored) by packing
 * several models per server within memory, in the manner of Saxml's experimental memory-aware one:
 *
 * 1. Placements of models that are no longer published are unloaded.
 * 2. Existing placements are kept, even where they would no longer fit; a loaded replica is never
 *    moved to rebalance.
 * 3. An over-replicated model sheds its surplus, least useful first: FAILED, then UNLOADING, LOADING or
 *    NONE, then LOADED; among equals the highest address goes first.
 * 4. An under-replicated model gains replicas on candidate servers, which list the model path exactly,
 *    do not hold the model yet (a server holds a model at most once), carry every tag of the model's
 *    `constraints` override (comma-separated; blanks around and empty entries ignored) and have the
 *    memory free.
 * 5. Memory is compared per core, as in Saxml (a sharded model uses every core): a server offers
 *    `bytesPerCore(chipType)`; a model needs its `ram<C>` override on a server with C cores, else its
 *    `ram` (= `ram1`) override, in bytes, else its size estimate (`estimatedBytes`, spread over the
 *    cores). Without any it needs the whole server, so models of unknown size never share a server
 *    and nothing is over-committed. Free memory is the capacity less
 *    what the models kept or placed there need; unloads in the plan free their memory at once.
 * 6. Models are placed biggest first (by 1-core need, "whole server" biggest), ties by id; each takes
 *    the candidates with the most free memory (spreading load), then the fewest models, then the
 *    lowest address.
 *
 * A model with 0 requested replicas, or whose path no server lists, stays unassigned without error.
 * The same input (in any order) gives the same plan, and applying a plan then planning again with its
 * loads reported LOADED gives an empty plan: the assigner converges in one refresh.
 */
import { InvalidArgumentError } from "../common/errors.js";
import { bytesPerCore, coresOf } from "../common/platform.js";
import type { ModelServer_ChipTopology, ModelServer_ChipType } from "../gen/sax/admin.js";
import { ModelStatus } from "../gen/sax/common.js";

/** A joined model server, as the assigner sees it. */
export interface AssignerServer {
  /** Join address, unique among servers. */
  readonly address: string;
  readonly chipType: ModelServer_ChipType;
  readonly chipTopology: ModelServer_ChipTopology;
  /** Registry paths the server can load; a model path must match one exactly. */
  readonly servablePaths: readonly string[];
  readonly tags: readonly string[];
  /** Models the admin has placed on this server (its "wanted" set), with their last seen status. */
  readonly models: ReadonlyMap<string, ModelStatus>;
}

/** A published model, as the assigner sees it. */
export interface AssignerModel {
  /** `/sax/<cell>/<model>`, unique among models. */
  readonly id: string;
  /** Registry path; must match a server's servablePaths exactly. */
  readonly path: string;
  readonly requestedReplicas: number;
  /** Publish overrides; `ram`, `ram<C>` and `constraints` steer placement. */
  readonly overrides: Readonly<Record<string, string>>;
  /**
   * Bytes the whole model needs when it has no `ram` override, e.g. estimated from the servable
   * registry; spread evenly over a server's cores. Without it (and without `ram`) the model needs the
   * whole server.
   */
  readonly estimatedBytes?: number;
}

/** One model on one server. */
export interface Placement {
  readonly address: string;
  readonly modelId: string;
}

/** What one refresh should do; apply the unloads before the loads. */
export interface AssignmentPlan {
  /** Model id → addresses of servers holding or about to load it (for every published model; [] if none). */
  readonly assignment: ReadonlyMap<string, readonly string[]>;
  /** Models to load, in placement order. */
  readonly loads: readonly Placement[];
  /** Models to unload, by address then model id. */
  readonly unloads: readonly Placement[];
}

/** A published model with its placement-relevant overrides parsed. */
interface ModelInfo {
  readonly model: AssignerModel;
  /** Bytes per core needed, by core count. */
  readonly needs: ReadonlyMap<number, number>;
  readonly constraints: readonly string[];
  readonly replicas: number;
}

/** A server's working state while planning. */
interface Slot {
  readonly server: AssignerServer;
  readonly capacityBytes: number;
  readonly cores: number;
  /** Published models kept or placed on the server. */
  readonly held: Set<string>;
  usedBytes: number;
}

/**
 * Plans one refresh: which models to unload and load where, and the resulting assignment. Throws
 * INVALID_ARGUMENT if two models share an id or two servers an address.
 */
export function planAssignment(
  models: readonly AssignerModel[],
  servers: readonly AssignerServer[],
): AssignmentPlan {
  const infos = indexModels(models);
  const slots = toSlots(servers);
  const unloads = keepPublished(slots, infos);
  for (const info of infos.values()) unloads.push(...shedSurplus(info, slots));
  for (const slot of slots) slot.usedBytes = usedBytesOf(slot, infos);
  const loads = placementOrder(infos).flatMap((info) => addMissing(info, slots));
  return { assignment: assignmentOf(infos, slots), loads, unloads: unloads.sort(byPlacement) };
}

function indexModels(models: readonly AssignerModel[]): Map<string, ModelInfo> {
  const infos = new Map<string, ModelInfo>();
  for (const model of models) {
    if (infos.has(model.id)) {
      throw new InvalidArgumentError(`model ${model.id} is listed twice; pass each published model once`, {
        model: model.id,
      });
    }
    infos.set(model.id, {
      model,
      needs: memoryNeeds(model.overrides),
      constraints: constraintsOf(model.overrides),
      replicas: Math.max(0, Math.floor(model.requestedReplicas)),
    });
  }
  return infos;
}

function toSlots(servers: readonly AssignerServer[]): Slot[] {
  const sorted = [...servers].sort((a, b) => compareStrings(a.address, b.address));
  sorted.forEach((server, i) => {
    if (i > 0 && sorted[i - 1]?.address === server.address) {
      throw new InvalidArgumentError(`server ${server.address} is listed twice; pass each server once`);
    }
  });
  return sorted.map((server) => ({
    server,
    capacityBytes: bytesPerCore(server.chipType),
    cores: coresOf(server.chipTopology),
    held: new Set<string>(),
    usedBytes: 0,
  }));
}

const RAM_KEY = /^ram(\d*)$/;
const BYTE_COUNT = /^\d+$/;

/**
 * Parses `ram` / `ram<C>` overrides into bytes per core by core count (`ram` counts as 1 core).
 * Unparsable entries are ignored; if both `ram` and `ram1` are given, `ram1` wins.
 */
function memoryNeeds(overrides: Readonly<Record<string, string>>): Map<number, number> {
  const needs = new Map<number, number>();
  const entries = Object.entries(overrides).sort(([a], [b]) => compareStrings(a, b));
  for (const [key, value] of entries) {
    const cores = RAM_KEY.exec(key)?.[1];
    const bytes = Number(value);
    if (cores === undefined || !BYTE_COUNT.test(value) || !Number.isSafeInteger(bytes)) continue;
    needs.set(cores === "" ? 1 : Number(cores), bytes);
  }
  return needs;
}

function constraintsOf(overrides: Readonly<Record<string, string>>): string[] {
  const raw = Object.hasOwn(overrides, "constraints") ? overrides["constraints"] : undefined;
  return (raw ?? "")
    .split(",")
    .map((tag) => tag.trim())
    .filter((tag) => tag !== "");
}

/** Bytes per core `info` needs on `slot`; a model of unknown size takes the whole server. */
function needOn(info: ModelInfo, slot: Slot): number {
  const estimate = info.model.estimatedBytes;
  const estimated = estimate === undefined ? undefined : Math.ceil(estimate / slot.cores);
  return info.needs.get(slot.cores) ?? info.needs.get(1) ?? estimated ?? slot.capacityBytes;
}

/** Memory needed by the models held on `slot`, all of which are published. */
function usedBytesOf(slot: Slot, infos: ReadonlyMap<string, ModelInfo>): number {
  let used = 0;
  for (const modelId of slot.held) {
    const info = infos.get(modelId);
    if (info !== undefined) used += needOn(info, slot);
  }
  return used;
}

/** Records the published models of each server in `held` and returns unloads for the others. */
function keepPublished(slots: readonly Slot[], infos: ReadonlyMap<string, ModelInfo>): Placement[] {
  const unloads: Placement[] = [];
  for (const slot of slots) {
    for (const modelId of slot.server.models.keys()) {
      if (infos.has(modelId)) slot.held.add(modelId);
      else unloads.push({ address: slot.server.address, modelId });
    }
  }
  return unloads;
}

/** How much a replica in this status is worth keeping; lower is unloaded first. */
const KEEP_RANK: Partial<Record<ModelStatus, number>> = {
  [ModelStatus.FAILED]: 0,
  [ModelStatus.LOADED]: 2,
};
const DEFAULT_KEEP_RANK = 1;

function keepRank(slot: Slot, modelId: string): number {
  const status = slot.server.models.get(modelId) ?? ModelStatus.NONE;
  return KEEP_RANK[status] ?? DEFAULT_KEEP_RANK;
}

/** Drops the least useful replicas of an over-replicated model from `held`, returning the unloads. */
function shedSurplus(info: ModelInfo, slots: readonly Slot[]): Placement[] {
  const modelId = info.model.id;
  const holders = slots.filter((slot) => slot.held.has(modelId));
  const surplus = holders.length - info.replicas;
  if (surplus <= 0) return [];
  const shed = holders
    .sort(
      (a, b) =>
        keepRank(a, modelId) - keepRank(b, modelId) || compareStrings(b.server.address, a.server.address),
    )
    .slice(0, surplus);
  for (const slot of shed) slot.held.delete(modelId);
  return shed.map((slot) => ({ address: slot.server.address, modelId }));
}

/** Models biggest first (1-core need; unknown size is biggest), ties by id. */
function placementOrder(infos: ReadonlyMap<string, ModelInfo>): ModelInfo[] {
  const oneCoreNeed = (info: ModelInfo): number => info.needs.get(1) ?? info.model.estimatedBytes ?? Infinity;
  return [...infos.values()].sort(
    (a, b) => compareNumbersDesc(oneCoreNeed(a), oneCoreNeed(b)) || compareStrings(a.model.id, b.model.id),
  );
}

function canHost(slot: Slot, info: ModelInfo): boolean {
  const { server } = slot;
  return (
    server.servablePaths.includes(info.model.path) &&
    !slot.held.has(info.model.id) &&
    info.constraints.every((tag) => server.tags.includes(tag)) &&
    slot.capacityBytes - slot.usedBytes >= needOn(info, slot)
  );
}

/** Most free memory first, then fewest models, then lowest address. */
function compareCandidates(a: Slot, b: Slot): number {
  return (
    compareNumbersDesc(a.capacityBytes - a.usedBytes, b.capacityBytes - b.usedBytes) ||
    a.held.size - b.held.size ||
    compareStrings(a.server.address, b.server.address)
  );
}

/** Places the missing replicas of one model, updating the chosen slots, and returns the loads. */
function addMissing(info: ModelInfo, slots: readonly Slot[]): Placement[] {
  const modelId = info.model.id;
  const missing = info.replicas - slots.filter((slot) => slot.held.has(modelId)).length;
  if (missing <= 0) return [];
  const chosen = slots
    .filter((slot) => canHost(slot, info))
    .sort(compareCandidates)
    .slice(0, missing);
  for (const slot of chosen) {
    slot.held.add(modelId);
    slot.usedBytes += needOn(info, slot);
  }
  return chosen.map((slot) => ({ address: slot.server.address, modelId }));
}

function assignmentOf(infos: ReadonlyMap<string, ModelInfo>, slots: readonly Slot[]) {
  const ids = [...infos.keys()].sort(compareStrings);
  const entries = ids.map((id): [string, string[]] => [
    id,
    slots.filter((slot) => slot.held.has(id)).map((slot) => slot.server.address),
  ]);
  return new Map<string, readonly string[]>(entries);
}

function byPlacement(a: Placement, b: Placement): number {
  return compareStrings(a.address, b.address) || compareStrings(a.modelId, b.modelId);
}

/** Code-unit order, independent of locale. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Descending order that treats equal infinities as ties (Infinity - Infinity is NaN). */
function compareNumbersDesc(a: number, b: number): number {
  return a === b ? 0 : a > b ? -1 : 1;
}
