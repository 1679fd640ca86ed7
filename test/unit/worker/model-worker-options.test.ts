import { describe, expect, it } from "vitest";
import {
  PYTHON_RUNTIME_DIR,
  backoffDelayMs,
  resolveModelWorkerOptions,
} from "../../../src/worker/model-worker-options.js";

describe("resolveModelWorkerOptions", () => {
  it("runs the venv's python in python-runtime with the documented defaults", () => {
    const resolved = resolveModelWorkerOptions({
      workerId: "w1",
      load: { config: { kind: "echo" }, checkpoint: "None" },
    });
    expect(resolved.pythonPath).toBe(`${PYTHON_RUNTIME_DIR}/.venv/bin/python`);
    expect(resolved.cwd).toBe(PYTHON_RUNTIME_DIR);
    expect(resolved.load.seed).toBe(0);
    expect(resolved.restart).toEqual({
      maxConsecutiveFailures: 5,
      initialBackoffMs: 200,
      multiplier: 2,
      maxBackoffMs: 10_000,
    });
  });

  it("keeps restart defaults for fields an override leaves out", () => {
    const resolved = resolveModelWorkerOptions({
      workerId: "w1",
      load: { config: {}, checkpoint: "None" },
      restart: { maxConsecutiveFailures: 1 },
    });
    expect(resolved.restart.initialBackoffMs).toBe(200);
    expect(resolved.restart.maxConsecutiveFailures).toBe(1);
  });
});

describe("backoffDelayMs", () => {
  it("grows exponentially from the initial wait up to the cap", () => {
    const policy = { maxConsecutiveFailures: 9, initialBackoffMs: 100, multiplier: 2, maxBackoffMs: 500 };
    expect([0, 1, 2, 3, 4].map((attempt) => backoffDelayMs(attempt, policy))).toEqual([
      100, 200, 400, 500, 500,
    ]);
  });
});
