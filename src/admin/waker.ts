/**
 * Which dormant model servers to wake (Saxml's waker policy, kept as is for compatibility): per model,
 * wake the greatest-addressed dormant server holding it when the rise in early rejections per dormant
 * server exceeds the number of active servers holding it.
 */

/** What the waker needs to know of a server. */
export interface WakerServer {
  readonly address: string;
  readonly isDormant: boolean;
  /** Early-rejection error rates of the last two polls: [previous, latest]. */
  readonly earlyRejections: readonly [number, number];
  /** Models the server reported in its last status. */
  readonly modelIds: Iterable<string>;
}

/** Addresses of the servers to send WakeUp to. */
export function serversToWake(servers: readonly WakerServer[]): Set<string> {
  const byModel = new Map<string, WakerServer[]>();
  for (const server of servers) {
    for (const id of server.modelIds) byModel.set(id, [...(byModel.get(id) ?? []), server]);
  }
  const wake = new Set<string>();
  for (const holders of byModel.values()) {
    const dormant = holders.filter((s) => s.isDormant);
    if (dormant.length === 0) continue;
    const candidate = dormant.reduce((a, b) => (b.address > a.address ? b : a));
    // Saxml takes the rate change of the last dormant server visited, not a sum.
    const last = dormant[dormant.length - 1]!;
    const rateChange = last.earlyRejections[1] - last.earlyRejections[0];
    if (rateChange / dormant.length > holders.length - dormant.length) wake.add(candidate.address);
  }
  return wake;
}
