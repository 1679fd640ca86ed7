/**
 * Retrying data calls of one model (spec §8.3): each attempt picks a replica from the model's address
 * source, leases a channel to it and calls with the time left. UNAVAILABLE drops the replica from the
 * choice for a while and retires its channel; UNAVAILABLE, RESOURCE_EXHAUSTED and NOT_FOUND are retried.
 * A failure to locate the model at all (address lookup) is final. A stream is retried until its first
 * message; after that any error ends it.
 */
import type { MethodDefinition } from "@grpc/grpc-js";
import { isSaxError, SaxError, toSaxError } from "../common/errors.js";
import { callServerStream, callUnary } from "../grpc/client.js";
import type { AddressSource } from "./address-cache.js";
import { CallScope } from "./call-scope.js";
import type { ChannelLease, ChannelPool } from "./channel-pool.js";
import { DATA_RETRY_CODES, hasCode, withRetry, type ResolvedRetryPolicy } from "./retry.js";
import type { CallOptions } from "./types.js";

/** What a {@link DataCaller} needs from its client. */
export interface DataCallerDeps {
  /** The model's address source, looked up per attempt (a failed watch is replaced by a fresh one). */
  readonly source: () => AddressSource;
  readonly pool: ChannelPool;
  readonly policy: ResolvedRetryPolicy;
  /** Aborts when the client closes. */
  readonly closed: AbortSignal;
}

/** A failure to locate the model, marked so that the retry loop does not retry it. */
class LookupFailure extends SaxError {
  constructor(readonly error: SaxError) {
    super(error.code, error.message, { model: error.model, method: error.method, cause: error });
  }
}

/** Runs data calls of one model with retries. */
export class DataCaller {
  constructor(
    readonly modelId: string,
    private readonly deps: DataCallerDeps,
  ) {}

  /** Calls a unary data method. */
  async unary<Req, Res>(
    method: MethodDefinition<Req, Res>,
    request: Req,
    options: CallOptions,
    label: string,
  ): Promise<Res> {
    const scope = this.scope(options, label);
    try {
      return await this.retry(scope, async () => {
        const lease = await this.lease(scope);
        try {
          return await callUnary(lease.channel, method, request, scope.rpcOptions());
        } catch (err) {
          throw this.onAttemptError(err, lease);
        } finally {
          lease.release();
        }
      });
    } finally {
      scope.close();
    }
  }

  /** Calls a server-streaming data method; breaking out of the loop cancels the call on the server. */
  async *stream<Req, Res>(
    method: MethodDefinition<Req, Res>,
    request: Req,
    options: CallOptions,
    label: string,
  ): AsyncIterable<Res> {
    const scope = this.scope(options, label);
    let lease: ChannelLease | undefined;
    let messages: AsyncIterator<Res> | undefined;
    try {
      const [first, opened] = await this.retry(scope, async () => {
        const held = (lease = await this.lease(scope));
        const stream = callServerStream(held.channel, method, request, scope.rpcOptions());
        messages = stream[Symbol.asyncIterator]();
        try {
          return [await messages.next(), messages] as const;
        } catch (err) {
          held.release();
          throw this.onAttemptError(err, held);
        }
      });
      for (let next = first; !next.done;) {
        yield next.value;
        try {
          next = await opened.next();
        } catch (err) {
          if (scope.signal.aborted) throw scope.failure(toSaxError(err, "UNKNOWN"));
          // Final after the first message, but a replica that went away is still avoided from now on.
          throw lease ? this.onAttemptError(err, lease) : err;
        }
      }
    } finally {
      await messages?.return?.();
      lease?.release();
      scope.close();
    }
  }

  private scope(options: CallOptions, label: string): CallScope {
    return new CallScope(options, this.deps.closed, `${label} on ${this.modelId}`);
  }

  private retry<T>(scope: CallScope, attempt: () => Promise<T>): Promise<T> {
    return withRetry(attempt, {
      scope,
      policy: this.deps.policy,
      shouldRetry: (err) => !(err instanceof LookupFailure) && hasCode(DATA_RETRY_CODES, err),
    }).catch((err: unknown) => {
      throw err instanceof LookupFailure ? err.error : err;
    });
  }

  /** Picks a replica and leases a channel to it. */
  private async lease(scope: CallScope): Promise<ChannelLease> {
    let address: string;
    try {
      address = await this.deps.source().pick(scope.signal);
    } catch (err) {
      if (scope.signal.aborted) throw err;
      throw new LookupFailure(toSaxError(err, "UNKNOWN"));
    }
    return this.deps.pool.acquire(address);
  }

  private onAttemptError(err: unknown, lease: ChannelLease): unknown {
    if (isSaxError(err, "UNAVAILABLE")) {
      this.deps.source().drop(lease.address);
      this.deps.pool.retire(lease);
    }
    return err;
  }
}
