/**
 * The fake model server's call log: every Modelet request in arrival order, and promises that wait for
 * a matching one.
 */
import { SaxError } from "../../src/common/errors.js";
import type {
  ExportRequest,
  GetStatusRequest,
  LoadRequest,
  SaveRequest,
  UnloadRequest,
  UpdateLoadedRequest,
  WakeUpRequest,
} from "../../src/gen/sax/modelet.js";

/** Request type of each Modelet RPC, keyed by its wire name. */
export interface ModeletRequests {
  Load: LoadRequest;
  UpdateLoaded: UpdateLoadedRequest;
  Unload: UnloadRequest;
  Export: ExportRequest;
  GetStatus: GetStatusRequest;
  Save: SaveRequest;
  WakeUp: WakeUpRequest;
}

/** A Modelet RPC name as on the wire, e.g. `"Load"`. */
export type ModeletMethod = keyof ModeletRequests;

/** One received call. */
export type ModeletCall = {
  [M in ModeletMethod]: { readonly method: M; readonly request: ModeletRequests[M] };
}[ModeletMethod];

/** Picks calls of a method: gets the request and the call's index in the log. */
export type CallPredicate<M extends ModeletMethod> = (request: ModeletRequests[M], index: number) => boolean;

interface Waiter {
  readonly matches: (call: ModeletCall, index: number) => boolean;
  readonly resolve: (call: ModeletCall) => void;
  readonly reject: (err: SaxError) => void;
}

/** Ordered log of received calls with waiters for calls still to come. */
export class CallLog {
  /** Every call so far, oldest first. */
  readonly entries: ModeletCall[] = [];
  private readonly waiters = new Set<Waiter>();

  /** Appends a call and resolves the waiters it matches. */
  record(call: ModeletCall): void {
    this.entries.push(call);
    const index = this.entries.length - 1;
    for (const waiter of this.waiters) if (waiter.matches(call, index)) waiter.resolve(call);
  }

  /**
   * Resolves with the request of the first matching call, already logged or still to come; rejects
   * with DEADLINE_EXCEEDED, listing the calls seen, after `timeoutMs`.
   */
  waitFor<M extends ModeletMethod>(
    method: M,
    predicate: CallPredicate<M>,
    timeoutMs: number,
  ): Promise<ModeletRequests[M]> {
    // The cast is safe: `call.method === method` pins the request type.
    const matches = (call: ModeletCall, index: number) =>
      call.method === method && predicate(call.request as ModeletRequests[M], index);
    const seen = this.entries.find(matches);
    if (seen !== undefined) return Promise.resolve(seen.request as ModeletRequests[M]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => waiter.reject(this.timeoutError(method, timeoutMs)), timeoutMs);
      const settle = (finish: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        finish();
      };
      const waiter: Waiter = {
        matches,
        resolve: (call) => settle(() => resolve(call.request as ModeletRequests[M])),
        reject: (err) => settle(() => reject(err)),
      };
      this.waiters.add(waiter);
    });
  }

  /** Rejects every pending waiter with CANCELLED (the server is gone, nothing more will arrive). */
  close(): void {
    for (const waiter of this.waiters) {
      waiter.reject(new SaxError("CANCELLED", "the fake model server was closed while waiting for a call"));
    }
  }

  private timeoutError(method: ModeletMethod, timeoutMs: number): SaxError {
    const seen = this.entries.map((call) => call.method).join(", ") || "none";
    return new SaxError(
      "DEADLINE_EXCEEDED",
      `no matching ${method} call arrived within ${timeoutMs} ms (calls so far: ${seen}); ` +
        "pass a longer timeoutMs to waitForCall if the caller is slow",
    );
  }
}
