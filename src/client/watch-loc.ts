/**
 * The WatchLoc long poll of one model (spec §5.7, §8.2): ask with (seqno, admin id), get what changed
 * since, ask again with the answer's `next_seqno` and admin id. The first request, and any request an
 * admin answers with another id than the one sent (it restarted), is answered from seqno 0.
 */
import { isSaxError } from "../common/errors.js";
import { WatchLocRequest, type WatchResult } from "../gen/sax/admin.js";
import { ADMIN_METHODS, type AdminRpc } from "./admin-rpc.js";
import type { CallScope } from "./call-scope.js";
import type { AddressChange, AddressUpdate } from "./types.js";

/**
 * Each long poll is renewed after this long: a silently lost connection cannot stall the watch longer,
 * and a new poll with the same seqno loses nothing.
 */
export const WATCH_POLL_MS = 60_000;

/** One answer of the admin. */
export interface WatchStep {
  readonly update: AddressUpdate;
  /** The answer describes the whole set (starting from empty), not changes of what was known. */
  readonly fromScratch: boolean;
}

/** Turns a WatchResult into an {@link AddressUpdate}. */
export function toAddressUpdate(result: WatchResult | undefined): AddressUpdate {
  const changes: AddressChange[] = [];
  for (const { kind } of result?.changelog ?? []) {
    if (kind?.$case === "addition") changes.push({ kind: "add", address: kind.value });
    else if (kind?.$case === "deletion") changes.push({ kind: "remove", address: kind.value });
  }
  return { fullSet: result?.hasFullset ? [...result.values] : undefined, changes };
}

/**
 * Yields every change of `modelId`'s address set until `scope` ends (then it throws the scope's
 * failure) or the admin fails the watch (NOT_FOUND once the model is unpublished). UNAVAILABLE and
 * RESOURCE_EXHAUSTED are absorbed by the admin retry loop.
 */
export async function* watchLoc(rpc: AdminRpc, modelId: string, scope: CallScope): AsyncIterable<WatchStep> {
  let seqno = 0;
  let adminServerId = "";
  for (;;) {
    let response;
    try {
      response = await rpc.call(
        ADMIN_METHODS.watchLoc,
        WatchLocRequest.fromPartial({ modelId, seqno, adminServerId }),
        { signal: scope.signal, timeoutMs: scope.remainingMs(), attemptTimeoutMs: WATCH_POLL_MS },
      );
    } catch (err) {
      if (scope.signal.aborted || scope.remainingMs() === 0) {
        scope.expire();
        throw scope.failure(isSaxError(err) ? err : undefined);
      }
      // A renewed poll (its own deadline passed, not the caller's): ask again from where we were.
      if (isSaxError(err, "DEADLINE_EXCEEDED")) continue;
      throw err;
    }
    const fromScratch = seqno === 0 || response.adminServerId !== adminServerId;
    seqno = response.result?.nextSeqno ?? 0;
    adminServerId = response.adminServerId;
    yield { update: toAddressUpdate(response.result), fromScratch };
  }
}
