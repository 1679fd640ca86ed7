/**
 * Retrying RPCs to a cell's admin (spec §8.1): each attempt leases a channel to the address the locator
 * knows; UNAVAILABLE poisons that address (and retires the channel) before the retry, so the next attempt
 * re-reads location.proto.
 */
import type { MethodDefinition } from "@grpc/grpc-js";
import { isSaxError } from "../common/errors.js";
import { AdminDefinition } from "../gen/sax/admin.js";
import { callUnary } from "../grpc/client.js";
import { grpcService } from "../grpc/definitions.js";
import type { AdminLocator } from "./admin-locator.js";
import { CallScope } from "./call-scope.js";
import type { ChannelPool } from "./channel-pool.js";
import { ADMIN_RETRY_CODES, hasCode, withRetry, type ResolvedRetryPolicy } from "./retry.js";
import type { CallOptions } from "./types.js";

/** The admin methods, as grpc-js definitions. */
export const ADMIN_METHODS = grpcService(AdminDefinition);

/** Extra options of one admin call. */
export interface AdminCallOptions extends CallOptions {
  /** Cap of each attempt's gRPC deadline (a long poll that should be renewed now and then). */
  readonly attemptTimeoutMs?: number;
}

/** Runs admin RPCs of one cell with the client's retry policy. */
export class AdminRpc {
  constructor(
    readonly locator: AdminLocator,
    private readonly pool: ChannelPool,
    private readonly policy: ResolvedRetryPolicy,
    private readonly closed: AbortSignal,
  ) {}

  /** Calls `method` until it succeeds or fails for good (spec §10). */
  async call<Req, Res>(
    method: MethodDefinition<Req, Res>,
    request: Req,
    options: AdminCallOptions = {},
  ): Promise<Res> {
    const scope = new CallScope(options, this.closed, method.path);
    try {
      return await withRetry(() => this.attempt(method, request, scope, options.attemptTimeoutMs), {
        scope,
        policy: this.policy,
        shouldRetry: (err) => hasCode(ADMIN_RETRY_CODES, err),
      });
    } finally {
      scope.close();
    }
  }

  /** The admin's current address (read from location.proto unless known). */
  address(): Promise<string> {
    return this.locator.address();
  }

  private async attempt<Req, Res>(
    method: MethodDefinition<Req, Res>,
    request: Req,
    scope: CallScope,
    capMs: number | undefined,
  ): Promise<Res> {
    const lease = this.pool.acquire(await this.locator.address());
    try {
      return await callUnary(lease.channel, method, request, scope.rpcOptions(capMs));
    } catch (err) {
      if (isSaxError(err, "UNAVAILABLE")) {
        this.locator.poison(lease.address);
        this.pool.retire(lease);
      }
      throw err;
    } finally {
      lease.release();
    }
  }
}
