import { connectivityState } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { ChannelPool, type ChannelLease } from "../../../src/client/channel-pool.js";

const isShutDown = (lease: ChannelLease) =>
  lease.channel.getChannel().getConnectivityState(false) === connectivityState.SHUTDOWN;

describe("ChannelPool", () => {
  let pool: ChannelPool;
  afterEach(() => pool.close());

  it("shares one channel per address", () => {
    pool = new ChannelPool();
    const a = pool.acquire("127.0.0.1:1");
    const b = pool.acquire("127.0.0.1:1");
    expect(b.channel).toBe(a.channel);
    expect(pool.acquire("127.0.0.1:2").channel).not.toBe(a.channel);
  });

  it("closes a retired channel only when its last lease is released, and opens a fresh one", () => {
    pool = new ChannelPool();
    const first = pool.acquire("127.0.0.1:1");
    const second = pool.acquire("127.0.0.1:1");
    pool.retire(first);
    expect(pool.acquire("127.0.0.1:1").channel).not.toBe(first.channel);
    first.release();
    expect(isShutDown(first)).toBe(false);
    second.release();
    expect(isShutDown(first)).toBe(true);
  });
});
