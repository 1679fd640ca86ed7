import { describe, expect, it } from "vitest";
import { AddressSet, DROP_MS } from "../../../src/client/address-set.js";
import { toAddressUpdate, type WatchStep } from "../../../src/client/watch-loc.js";

const add = (...addresses: string[]): WatchStep => ({
  update: { fullSet: undefined, changes: addresses.map((address) => ({ kind: "add", address })) },
  fromScratch: false,
});

/** A set at a fixed clock holding `addresses`, starting its round robin at the first one. */
function setOf(addresses: string[], clock = { nowMs: 0 }) {
  const set = new AddressSet(
    () => clock.nowMs,
    () => 0,
  );
  set.apply(add(...addresses));
  return set;
}

describe("AddressSet", () => {
  it("replaces the set on a full set, then applies the changelog in order", () => {
    const set = setOf(["a:1", "b:1"]);
    set.apply({
      update: {
        fullSet: ["c:1", "d:1"],
        changes: [
          { kind: "remove", address: "d:1" },
          { kind: "add", address: "e:1" },
        ],
      },
      fromScratch: false,
    });
    expect(set.values()).toEqual(["c:1", "e:1"]);
  });

  it("starts from empty on an answer from seqno 0 that carries only changes", () => {
    const set = setOf(["old:1"]);
    set.apply({ ...add("new:1"), fromScratch: true });
    expect(set.values()).toEqual(["new:1"]);
  });

  it("spreads picks round robin over every address", () => {
    const set = setOf(["a:1", "b:1", "c:1"]);
    const picks = Array.from({ length: 6 }, () => set.pick());
    expect(picks).toEqual(["a:1", "b:1", "c:1", "a:1", "b:1", "c:1"]);
  });

  it("starts the round robin at a random replica", () => {
    const set = new AddressSet(Date.now, () => 0.5);
    set.apply(add("a:1", "b:1", "c:1", "d:1"));
    expect(set.pick()).toBe("c:1");
  });

  it("skips a dropped address until its drop expires", () => {
    const clock = { nowMs: 0 };
    const set = setOf(["a:1", "b:1"], clock);
    set.drop("a:1");
    expect([set.pick(), set.pick(), set.pick()]).toEqual(["b:1", "b:1", "b:1"]);
    clock.nowMs = DROP_MS + 1;
    expect(new Set([set.pick(), set.pick()])).toEqual(new Set(["a:1", "b:1"]));
  });

  it("still picks a dropped address when every address is dropped", () => {
    const set = setOf(["a:1"]);
    set.drop("a:1");
    expect(set.pick()).toBe("a:1");
  });

  it("picks nothing from an empty set, and only members of the watched set", () => {
    const set = setOf([]);
    expect(set.pick()).toBeUndefined();
    set.apply(add("a:1", "b:1"));
    set.apply({
      update: { fullSet: undefined, changes: [{ kind: "remove", address: "a:1" }] },
      fromScratch: false,
    });
    expect([set.pick(), set.pick()]).toEqual(["b:1", "b:1"]);
  });
});

describe("toAddressUpdate", () => {
  it("keeps the full set only when the WatchResult has one, and maps the changelog", () => {
    expect(
      toAddressUpdate({
        nextSeqno: 2,
        hasFullset: true,
        values: ["a:1"],
        changelog: [
          { kind: { $case: "addition", value: "b:1" } },
          { kind: { $case: "deletion", value: "a:1" } },
        ],
      }),
    ).toEqual({
      fullSet: ["a:1"],
      changes: [
        { kind: "add", address: "b:1" },
        { kind: "remove", address: "a:1" },
      ],
    });
    expect(
      toAddressUpdate({ nextSeqno: 1, hasFullset: false, values: [], changelog: [] }).fullSet,
    ).toBeUndefined();
  });
});
