import { describe, expect, it } from "vitest";
import { SaxError } from "../../../src/common/errors.js";
import { Watchable } from "../../../src/admin/watchable.js";

const timeout = (ms: number) => AbortSignal.timeout(ms);

describe("Watchable", () => {
  it("blocks a watch at seqno 0 until the first mutation", async () => {
    const w = new Watchable();
    const pending = w.watch(0);
    w.add("A");
    expect(await pending).toEqual({
      nextSeqno: 1,
      hasFullset: false,
      values: [],
      changelog: [{ kind: "addition", value: "A" }],
    });
  });

  it("packs the log after a second addition, as in Saxml's example", async () => {
    const w = new Watchable();
    w.add("A");
    w.add("B");
    expect(await w.watch(0)).toEqual({
      nextSeqno: 2,
      hasFullset: true,
      values: ["A"],
      changelog: [{ kind: "addition", value: "B" }],
    });
    expect(await w.watch(1)).toEqual({
      nextSeqno: 2,
      hasFullset: false,
      values: [],
      changelog: [{ kind: "addition", value: "B" }],
    });
  });

  it("answers a seqno past the end at once with an empty changelog", async () => {
    const w = new Watchable();
    w.add("A");
    expect(await w.watch(5)).toEqual({ nextSeqno: 1, hasFullset: false, values: [], changelog: [] });
  });

  it("wakes every waiter on a deletion", async () => {
    const w = new Watchable();
    w.add("A");
    w.add("B");
    const waiters = [w.watch(2), w.watch(2)];
    w.delete("A");
    for (const update of await Promise.all(waiters))
      expect(update.changelog).toEqual([{ kind: "deletion", value: "A" }]);
  });

  it("records additions of present values and deletions of absent ones", async () => {
    const w = new Watchable();
    w.add("A");
    w.add("A");
    w.delete("Z");
    expect((await w.watch(0)).nextSeqno).toBe(3);
    expect(w.values()).toEqual(["A"]);
  });

  it("keeps base = next - len(log) and data = fold of the prefix over many mutations", async () => {
    const w = new Watchable();
    const truth = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const v = `s${i % 7}`;
      if (i % 3 === 2) {
        w.delete(v);
        truth.delete(v);
      } else {
        w.add(v);
        truth.add(v);
      }
      const full = await w.watch(0);
      const replayed = new Set(full.values);
      for (const m of full.changelog) {
        if (m.kind === "addition") replayed.add(m.value);
        else replayed.delete(m.value);
      }
      expect(replayed).toEqual(truth);
      expect(full.nextSeqno).toBe(i + 1);
    }
  });

  it("answers an empty full set with seqno 0 once closed, also to waiting watchers", async () => {
    const w = new Watchable();
    w.add("A");
    const waiting = w.watch(1);
    w.close();
    const closed = { nextSeqno: 0, hasFullset: true, values: [], changelog: [] };
    expect(await waiting).toEqual(closed);
    expect(await w.watch(0)).toEqual(closed);
  });

  it("rejects a waiting watch with the signal's reason when it aborts", async () => {
    const controller = new AbortController();
    const pending = new Watchable().watch(0, controller.signal);
    controller.abort(new SaxError("DEADLINE_EXCEEDED", "deadline"));
    await expect(pending).rejects.toMatchObject({ code: "DEADLINE_EXCEEDED" });
  });

  it("treats a plain abort as CANCELLED", async () => {
    await expect(new Watchable().watch(0, timeout(1))).rejects.toMatchObject({ code: "CANCELLED" });
  });
});
