/**
 * The Stats RPC's aggregation over a set of model servers.
 */
import type { StatsResponse } from "../gen/sax/admin.js";
import type { ServerMirror } from "./server-mirror.js";

/** Counts servers per (chip type, topology) and per servable model path. */
export function cellStats(mirrors: readonly ServerMirror[]): StatsResponse {
  const byType = new Map<string, { chipType: number; chipTopology: number; numReplicas: number }>();
  const byPath: Record<string, number> = {};
  for (const { server } of mirrors) {
    const { chipType, chipTopology, servableModelPaths } = server.spec;
    const key = `${chipType}/${chipTopology}`;
    const entry = byType.get(key) ?? { chipType, chipTopology, numReplicas: 0 };
    entry.numReplicas += 1;
    byType.set(key, entry);
    for (const path of new Set(servableModelPaths)) byPath[path] = (byPath[path] ?? 0) + 1;
  }
  return { modelServerTypeStats: [...byType.values()], numServersByServableModelPath: byPath };
}
