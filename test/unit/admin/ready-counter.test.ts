import { describe, expect, it } from "vitest";
import { SaxError } from "../../../src/common/errors.js";
import { ReadyCounter } from "../../../src/admin/ready-counter.js";

describe("ReadyCounter", () => {
  it("resolves at once when the threshold is already met", async () => {
    await expect(new ReadyCounter().waitFor(0)).resolves.toBeUndefined();
  });

  it("releases a waiter when the count reaches its threshold, not before", async () => {
    const counter = new ReadyCounter();
    let released = false;
    const waiting = counter.waitFor(2).then(() => (released = true));
    counter.add(1);
    await Promise.resolve();
    expect(released).toBe(false);
    counter.add(1);
    await waiting;
    expect(counter.value).toBe(2);
  });

  it("fails waiters, current and future, once closed", async () => {
    const counter = new ReadyCounter();
    const waiting = counter.waitFor(1);
    counter.close(new SaxError("CANCELLED", "unpublished"));
    await expect(waiting).rejects.toMatchObject({ code: "CANCELLED" });
    await expect(counter.waitFor(0)).rejects.toMatchObject({ code: "CANCELLED" });
  });

  it("rejects with DEADLINE_EXCEEDED when the call's deadline passes", async () => {
    const controller = new AbortController();
    const waiting = new ReadyCounter().waitFor(1, controller.signal);
    controller.abort(new SaxError("DEADLINE_EXCEEDED", "deadline"));
    await expect(waiting).rejects.toMatchObject({ code: "DEADLINE_EXCEEDED" });
  });
});
