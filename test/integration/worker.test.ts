/**
 * ModelWorker against real Python worker processes serving the deterministic echo servable
 * (python-runtime/sax_worker/testing/echo.py). Every wait is bounded.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { SaxError } from "../../src/common/errors.js";
import { WorkerDiedError } from "../../src/worker/errors.js";
import { ModelWorker } from "../../src/worker/model-worker.js";
import type { ModelWorkerOptions } from "../../src/worker/model-worker-options.js";
import type { Payload } from "../../src/worker/protocol.js";
import type { WorkerState } from "../../src/worker/worker-state.js";

const FAKE_WORKER_DIR = fileURLToPath(new URL("../fixtures/worker-protocol/fake-worker", import.meta.url));
const WAIT_MS = 10_000;
let nextId = 0;

interface EchoWorker extends AsyncDisposable {
  readonly worker: ModelWorker;
  /** Every state entered so far, in order. */
  readonly states: WorkerState[];
  /** Resolves when the worker enters `state` (counting only entries after the call). */
  enters(state: WorkerState): Promise<void>;
}

function echoOptions(overrides: Partial<ModelWorkerOptions> = {}): ModelWorkerOptions {
  return {
    workerId: `echo-${++nextId}`,
    model: "/sax/test/echo",
    load: { config: { kind: "echo" }, checkpoint: "None" },
    readyTimeoutMs: WAIT_MS,
    stopGraceMs: 2_000,
    shutdownTimeoutMs: 2_000,
    restart: { initialBackoffMs: 20, maxBackoffMs: 100 },
    ...overrides,
  };
}

async function startEcho(overrides: Partial<ModelWorkerOptions> = {}): Promise<EchoWorker> {
  const states: WorkerState[] = ["starting"];
  const waiters: { state: WorkerState; wake: () => void }[] = [];
  const worker = await ModelWorker.start(
    echoOptions({
      ...overrides,
      onStateChange: ({ state }) => {
        states.push(state);
        for (const w of waiters.filter((w) => w.state === state)) w.wake();
      },
    }),
  );
  const enters = (state: WorkerState) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`worker did not become ${state} in ${WAIT_MS} ms`)),
        WAIT_MS,
      );
      waiters.push({ state, wake: () => (clearTimeout(timer), resolve()) });
    });
  return { worker, states, enters, [Symbol.asyncDispose]: () => worker.stop() };
}

/** Error switches of the echo servable, as a request's extra_inputs. */
function extra(inputs: { items?: Record<string, number>; strings?: Record<string, string> }): Payload {
  return { extra_inputs: inputs };
}

async function collect(stream: AsyncIterable<Payload>): Promise<Payload[]> {
  const chunks: Payload[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

/** The SaxError `promise` rejects with (fails the test if it resolves or throws something else). */
async function failure(promise: Promise<unknown>): Promise<SaxError> {
  const outcome = await promise.then(
    () => new Error("expected a rejection"),
    (err: unknown) => err,
  );
  expect(outcome).toBeInstanceOf(SaxError);
  return outcome as SaxError;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("ModelWorker with the echo servable", () => {
  it("loads the model and answers lm.generate", async () => {
    await using t = await startEcho();
    expect(t.worker.state).toBe("ready");
    expect([...(t.worker.methods?.streaming ?? [])]).toEqual(["lm.generate_stream"]);
    expect(t.worker.loadInfo).toBeUndefined(); // echo records no load cost
    expect(await t.worker.call("lm.generate", { text: "hello world" })).toEqual({
      texts: [{ text: "DLROW OLLEH", score: -1 }],
    });
    expect(t.states).toEqual(["starting", "loading", "ready"]);
  });

  it("multiplexes many concurrent calls over one worker", async () => {
    await using t = await startEcho();
    const texts = Array.from({ length: 50 }, (_, i) => `w${i}`);
    const replies = await Promise.all(texts.map((text) => t.worker.call("lm.generate", { text })));
    expect(replies.map((r) => (r.texts as { text: string }[])[0]?.text)).toEqual(
      texts.map((s) => s.toUpperCase().split("").reverse().join("")),
    );
  });

  it("streams lm.generate_stream in several chunks", async () => {
    await using t = await startEcho();
    const chunks = await collect(t.worker.stream("lm.generate_stream", { text: "one two three" }));
    const items = chunks.map((c) => (c.items as { text: string; prefix_len: number }[])[0]!);
    expect(items.map((i) => i.text)).toEqual(["ONE", " TWO", " THREE"]);
    const text = items.reduce((acc, i) => acc.slice(0, i.prefix_len) + i.text, "");
    expect(text).toBe("ONE TWO THREE");
  });

  it("cancels a stream on abort, and the worker keeps serving", async () => {
    await using t = await startEcho();
    const controller = new AbortController();
    const request = { text: "a b c d e f g h i j", ...extra({ items: { delay_ms: 100 } }) };
    const stream = t.worker.stream("lm.generate_stream", request, { signal: controller.signal });
    await stream.next();
    controller.abort();
    await expect(stream.next()).rejects.toMatchObject({ code: "CANCELLED" });
    const started = Date.now();
    expect(await t.worker.call("lm.generate", { text: "ok" })).toEqual({
      texts: [{ text: "KO", score: -0.5 }],
    });
    expect(Date.now() - started).toBeLessThan(500); // the worker stopped the stream, not finished it
  });

  it("fails a call past its deadline with DEADLINE_EXCEEDED", async () => {
    await using t = await startEcho();
    const request = { text: "a b c d e", ...extra({ items: { delay_ms: 100 } }) };
    const stream = t.worker.stream("lm.generate_stream", request, { deadlineMs: 150 });
    await expect(collect(stream)).rejects.toMatchObject({ code: "DEADLINE_EXCEEDED" });
    expect(await t.worker.call("lm.score", { prefix: "", suffix: ["abcd"] })).toEqual({ logp: [-1] });
  });

  it.each([
    [{ fail: "NOT_FOUND" }, "NOT_FOUND", "echo: failure NOT_FOUND requested"],
    [{ raise: "ValueError" }, "INVALID_ARGUMENT", "echo: ValueError requested"],
    [{ raise: "RuntimeError" }, "INTERNAL", "lm.generate failed: RuntimeError: echo: RuntimeError requested"],
  ])("turns the error reply for %j into a SaxError with code %s", async (strings, code, message) => {
    await using t = await startEcho();
    const call = t.worker.call("lm.generate", { text: "x", ...extra({ strings }) });
    await expect(call).rejects.toMatchObject({
      code,
      message,
      method: "lm.generate",
      model: "/sax/test/echo",
    });
  });

  it("refuses methods the model does not serve, or serves the other way", async () => {
    await using t = await startEcho();
    await expect(t.worker.call("vm.classify", {})).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(t.worker.call("lm.generate_stream", {})).rejects.toThrow(
      /is a streaming method; call stream/,
    );
    await expect(t.worker.stream("lm.generate", {}).next()).rejects.toThrow(/is not a streaming method/);
  });

  it.each([
    ["value", "INVALID_ARGUMENT", "echo: fail_load=value was requested"],
    ["runtime", "INTERNAL", "Loading error: RuntimeError: echo: fail_load=runtime was requested"],
  ])("rejects a load that fails with %s with the worker's reason", async (failLoad, code, reason) => {
    const states: WorkerState[] = [];
    const start = ModelWorker.start(
      echoOptions({
        load: { config: { kind: "echo", fail_load: failLoad }, checkpoint: "None" },
        onStateChange: ({ state }) => states.push(state),
      }),
    );
    await expect(start).rejects.toSatisfy(
      (err) =>
        err instanceof SaxError &&
        err.code === code &&
        err.message.endsWith(`could not load the model: ${reason}`),
    );
    expect(states).toEqual(["loading", "failed"]);
  });

  it("fails a stream with WorkerDiedError when the worker is SIGKILLed, then restarts and serves", async () => {
    await using t = await startEcho();
    const pid = t.worker.pid!;
    const request = { text: "a b c d e f g h", ...extra({ items: { delay_ms: 100 } }) };
    const stream = t.worker.stream("lm.generate_stream", request);
    await stream.next();
    const backUp = t.enters("ready");
    process.kill(pid, "SIGKILL");
    const error: unknown = await collect(stream).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(WorkerDiedError);
    expect(error).toMatchObject({ code: "UNAVAILABLE", signal: "SIGKILL", pid, exitCode: undefined });
    await backUp;
    expect(t.worker.pid).not.toBe(pid);
    expect(await t.worker.call("lm.generate", { text: "back" })).toEqual({
      texts: [{ text: "KCAB", score: -0.5 }],
    });
    expect(t.states.slice(3)).toEqual(["restarting", "starting", "loading", "ready"]);
  });

  it("rejects a call with the worker's fatal message and last stderr lines, then restarts", async () => {
    await using t = await startEcho();
    const backUp = t.enters("ready");
    const error: unknown = await t.worker
      .call("lm.generate", extra({ strings: { fatal: "device lost" } }))
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(WorkerDiedError);
    const died = error as WorkerDiedError;
    expect(died.exitCode).toBe(1);
    expect(died.stderrTail.join("\n")).toContain("fatal: device lost");
    expect(died.message).toMatch(/exited with code 1.*fatal: device lost/);
    await backUp;
  });

  it("becomes failed after the configured number of failed restarts in a row", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sax-echo-"));
    const flag = join(dir, "fail");
    try {
      const config = { kind: "echo", fail_load_if_exists: flag };
      await using t = await startEcho({
        load: { config, checkpoint: "None" },
        restart: { initialBackoffMs: 10, maxConsecutiveFailures: 2 },
      });
      const failed = t.enters("failed");
      writeFileSync(flag, "");
      process.kill(t.worker.pid!, "SIGKILL");
      await failed;
      expect(t.worker.failureReason?.message).toMatch(/failed to restart 2 times in a row.*exists/);
      await expect(t.worker.call("lm.generate", {})).rejects.toMatchObject({ code: "UNAVAILABLE" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("stop() lets in-flight calls finish, then ends the process", async () => {
    const t = await startEcho();
    const pid = t.worker.pid!;
    const call = t.worker.call("lm.generate", { text: "slow", ...extra({ items: { delay_ms: 200 } }) });
    const stopping = t.worker.stop();
    await expect(t.worker.call("lm.generate", {})).rejects.toThrow(/is draining/);
    expect(await call).toEqual({ texts: [{ text: "WOLS", score: -0.5 }] });
    await stopping;
    expect(t.worker.state).toBe("stopped");
    expect(isAlive(pid)).toBe(false);
  });

  it("stop() kills a worker that does not shut down in time", async () => {
    const t = await startEcho({ stopGraceMs: 50, shutdownTimeoutMs: 200 });
    const pid = t.worker.pid!;
    const call = t.worker.call("lm.generate", { text: "x", ...extra({ items: { delay_ms: 5_000 } }) });
    const outcome = call.catch((err: unknown) => err);
    const started = Date.now();
    await t.worker.stop();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await outcome).toMatchObject({
      code: "UNAVAILABLE",
      message: `worker ${t.worker.workerId} was stopped`,
    });
    expect(isAlive(pid)).toBe(false);
  });
});

describe("ModelWorker start-up failures", () => {
  it("reports the exit code and stderr of a worker that dies before READY", async () => {
    const start = ModelWorker.start(echoOptions({ cwd: tmpdir() }));
    await expect(start).rejects.toSatisfy(
      (err) =>
        err instanceof WorkerDiedError &&
        err.exitCode === 1 &&
        err.stderrTail.some((line) => line.includes("No module named sax_worker")),
    );
  });

  it("reports a worker that cannot be spawned", async () => {
    const start = ModelWorker.start(echoOptions({ pythonPath: "/nonexistent/python" }));
    await expect(start).rejects.toThrow(/could not be started: .*ENOENT/);
  });

  it("gives up on a worker that never says READY, naming readyTimeoutMs and its output", async () => {
    const options = echoOptions({
      cwd: FAKE_WORKER_DIR,
      readyTimeoutMs: 1_000,
      env: { SAX_FAKE_WORKER: "silent" },
    });
    const error = await failure(ModelWorker.start(options));
    expect(error.code).toBe("DEADLINE_EXCEEDED");
    expect(error.message).toMatch(/within 1000 ms \(readyTimeoutMs\); last output: fake worker starting/);
  });

  it("refuses a worker speaking another major protocol version", async () => {
    const options = echoOptions({ cwd: FAKE_WORKER_DIR, env: { SAX_FAKE_WORKER: "future" } });
    const error = await failure(ModelWorker.start(options));
    expect(error.code).toBe("FAILED_PRECONDITION");
    expect(error.message).toMatch(/speaks protocol 2\.0 but this server speaks 1\.0/);
  });

  it("leaves no socket directory behind", async () => {
    const socketDirs = () => readdirSync(tmpdir()).filter((name) => name.startsWith("sax-w-"));
    const before = socketDirs();
    await expect(ModelWorker.start(echoOptions({ cwd: tmpdir() }))).rejects.toThrow(WorkerDiedError);
    expect(socketDirs()).toEqual(before);
  });
});
