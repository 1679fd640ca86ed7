/**
 * The compose test cell of docker/ against a real Docker engine (npm run test:docker): builds the images
 * (on a Debian base made here, no image registry needed), brings the cell up with testcontainers, drives
 * it with bin/saxutil on the host, stops a model server and watches its models move to the other, and
 * takes the cell down leaving no container, network or volume behind.
 */
import { execa } from "execa";
import { chmod, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DockerComposeEnvironment,
  GenericContainer,
  Wait,
  type StartedDockerComposeEnvironment,
} from "testcontainers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../helpers/ports.js";
import { REPO_ROOT } from "../helpers/processes.js";
import { saxutilBin } from "../helpers/saxutil.js";
import { eventually } from "../helpers/test-admin.js";

const unavailable = process.env.SAX_DOCKER_UNAVAILABLE;
if (unavailable !== undefined) console.log(`test/docker skipped: ${unavailable}`);

// Where an image registry is reachable, SAX_DOCKER_BASE_IMAGE=debian:trixie-slim skips debootstrap.
const BASE_IMAGE = process.env.SAX_DOCKER_BASE_IMAGE;
const LOCAL_BASE_IMAGE = "sax-ts/debian:trixie";
const CELL = "/sax/test";
const TINY = `${CELL}/tiny`;
const LMCLOUD = `${CELL}/lmcloud`;
// Liveness of the test cell: a model server silent for PRUNE_TIMEOUT_MS is pruned.
const POLL_INTERVAL_MS = 1_000;
const PRUNE_TIMEOUT_MS = 8_000;
const MINUTE = 60_000;

/** `docker <args>`, its stdout trimmed; throws with its stderr when it fails. */
async function docker(...args: string[]): Promise<string> {
  const result = await execa("docker", args, { reject: false, timeout: 5 * MINUTE });
  if (result.exitCode !== 0) throw new Error(`docker ${args.join(" ")}: ${result.stderr}`);
  return result.stdout.trim();
}

/** The ids `docker <kind> ls -q` lists (containers with -a), as a sorted list. */
async function engineObjects(kind: "container" | "network" | "volume"): Promise<string[]> {
  const out = await docker(kind, "ls", "-q", ...(kind === "container" ? ["-a"] : []));
  return out === "" ? [] : out.split("\n").sort();
}

/** A folder for a sax root that the images' user (uid 10001) can write. */
async function saxRootFolder(dir: string): Promise<string> {
  const root = join(dir, "sax-root");
  await mkdir(root);
  await chmod(root, 0o777);
  return root;
}

describe.skipIf(unavailable !== undefined)("the Docker images", () => {
  beforeAll(async () => {
    const built = await execa(join(REPO_ROOT, "docker/build-images"), BASE_IMAGE ? [] : ["--local-base"], {
      reject: false,
      timeout: 40 * MINUTE,
      env: BASE_IMAGE ? { BASE_IMAGE } : {},
    });
    expect(built.exitCode, built.stderr.slice(-4000)).toBe(0);
    console.log(`images (name, build seconds, size):\n${built.stdout}`);
  });

  it("all-in-one: one container serves a cell that saxutil on the host publishes to", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sax-aio-"));
    const saxRoot = await saxRootFolder(dir);
    const [adminPort, serverPort] = [await freePort(), await freePort()];
    const container = await new GenericContainer("sax-ts/all-in-one:latest")
      .withNetworkMode("host")
      .withEnvironment({
        SAX_DEBUG_IPADDR: "1",
        SAX_ADMIN_PORT: String(adminPort),
        SAX_PORT: String(serverPort),
      })
      .withBindMounts([{ source: saxRoot, target: "/sax-root" }])
      .withWaitStrategy(Wait.forHealthCheck())
      .withStartupTimeout(2 * MINUTE)
      .start();
    try {
      const run = (...argv: string[]) =>
        saxutilBin(["--sax_timeout=300s", ...argv], { saxRoot, timeoutMs: 5 * MINUTE });
      const published = await run("publish", "-wait", TINY, "saxts.lm.TinyLlama", "None", "1");
      expect(published.status, published.stderr).toBe(0);
      const generated = await run("--json", "lm.generate", TINY, "Hello");
      expect(generated.status, generated.stderr).toBe(0);
      expect((JSON.parse(generated.stdout) as { texts: unknown[] }).texts).toHaveLength(1);
    } finally {
      await container.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe("the compose test cell (docker/compose.yaml)", () => {
    const project = `saxts-${process.pid}`;
    const ports = { admin: 0, status: 0, ms1: 0, ms2: 0 };
    let dir: string;
    let saxRoot: string;
    let cell: StartedDockerComposeEnvironment | undefined;
    let before: Record<"container" | "network" | "volume", string[]>;
    const saxutil = (...argv: string[]) =>
      saxutilBin(["--sax_timeout=600s", ...argv], { saxRoot, timeoutMs: 10 * MINUTE });

    /** The container of one of the cell's services (whatever compose names it). */
    const serviceContainer = async (service: string) => {
      const labels = [`com.docker.compose.project=${project}`, `com.docker.compose.service=${service}`];
      const id = await docker("ps", "-aq", ...labels.flatMap((l) => ["--filter", `label=${l}`]));
      if (id === "" || id.includes("\n")) throw new Error(`want one container of ${service}, got '${id}'`);
      return id;
    };

    /** The model server addresses `saxutil ls <model>` shows the model on. */
    const replicasOf = async (model: string): Promise<string[]> => {
      const listed = await saxutil("ls", model);
      expect(listed.status, listed.stderr).toBe(0);
      return [...listed.stdout.matchAll(/127\.0\.0\.1:\d+/g)].map((m) => m[0]);
    };

    beforeAll(async () => {
      before = {
        container: await engineObjects("container"),
        network: await engineObjects("network"),
        volume: await engineObjects("volume"),
      };
      dir = await mkdtemp(join(tmpdir(), "sax-docker-"));
      saxRoot = await saxRootFolder(dir);
      for (const key of Object.keys(ports) as (keyof typeof ports)[]) ports[key] = await freePort();
      // Debian's docker-compose is the standalone v1; a docker CLI with the compose plugin is used as is.
      const plugin = (await execa("docker", ["compose", "version"], { reject: false })).exitCode === 0;
      cell = await new DockerComposeEnvironment(join(REPO_ROOT, "docker"), "compose.yaml")
        .withProjectName(project)
        .withClientOptions(plugin ? {} : { executable: { standalone: true } })
        .withEnvironment({
          SAX_CELL: CELL,
          SAX_ROOT_DIR: saxRoot,
          ADMIN_PORT: String(ports.admin),
          ADMIN_STATUS_PORT: String(ports.status),
          MODEL_SERVER_1_PORT: String(ports.ms1),
          MODEL_SERVER_2_PORT: String(ports.ms2),
          POLL_INTERVAL_MS: String(POLL_INTERVAL_MS),
          PRUNE_TIMEOUT_MS: String(PRUNE_TIMEOUT_MS),
          BASE_IMAGE: BASE_IMAGE ?? LOCAL_BASE_IMAGE,
        })
        .up();
      // The one-shot job publishes both models and stays until they have loaded.
      const published = await execa("docker", ["wait", await serviceContainer("publish")], {
        timeout: 20 * MINUTE,
      });
      const logs = await execa("docker", ["logs", await serviceContainer("publish")], { reject: false });
      expect(published.stdout.trim(), `${logs.stdout}\n${logs.stderr}`).toBe("0");
    });

    afterAll(async () => {
      await cell?.down({ removeVolumes: true, timeout: 10_000 });
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it("serves both models to saxutil on the host", async () => {
      const listed = await saxutil("ls", CELL);
      expect(listed.status, listed.stderr).toBe(0);
      expect(listed.stdout).toMatch(/\| lmcloud +\|/);
      expect(listed.stdout).toMatch(/\| tiny +\|/);
      const servers = [`127.0.0.1:${ports.ms1}`, `127.0.0.1:${ports.ms2}`];
      for (const model of [TINY, LMCLOUD]) {
        const replicas = await replicasOf(model);
        expect(replicas, model).toHaveLength(1);
        expect(servers, model).toContain(replicas[0]);
      }

      const tiny = await saxutil("--json", "lm.generate", TINY, "Hello");
      expect(tiny.status, tiny.stderr).toBe(0);
      expect((JSON.parse(tiny.stdout) as { texts: unknown[] }).texts).toHaveLength(1);
      const lmcloud = await saxutil("--json", "lm.generate", LMCLOUD, "Hello");
      expect(lmcloud.status, lmcloud.stderr).toBe(0);
      expect((JSON.parse(lmcloud.stdout) as { texts: unknown[] }).texts.length).toBeGreaterThan(0);
    });

    it("moves the models of a stopped model server to the other one, which then serves them", async () => {
      const [from] = await replicasOf(TINY);
      const stopped = from === `127.0.0.1:${ports.ms1}` ? "model-server-1" : "model-server-2";
      const survivor = `127.0.0.1:${stopped === "model-server-1" ? ports.ms2 : ports.ms1}`;
      const moving = [TINY];
      if ((await replicasOf(LMCLOUD))[0] === from) moving.push(LMCLOUD);

      const stoppedAt = Date.now();
      await docker("stop", "--time", "10", await serviceContainer(stopped));
      for (const model of moving) {
        // Pruned after PRUNE_TIMEOUT_MS without a good poll, then reassigned at once.
        await eventually(
          async () => ((await replicasOf(model))[0] === survivor ? true : undefined),
          PRUNE_TIMEOUT_MS + POLL_INTERVAL_MS + 20_000,
          `${model} to move to ${survivor}`,
        );
      }
      console.log(`models ${moving.join(", ")} reassigned ${Date.now() - stoppedAt} ms after docker stop`);

      // The client retries while the model loads on its new server.
      const tiny = await saxutil("--json", "lm.generate", TINY, "Hello");
      expect(tiny.status, tiny.stderr).toBe(0);
      if (moving.includes(LMCLOUD)) {
        const lmcloud = await saxutil("--json", "lm.generate", LMCLOUD, "Hello");
        expect(lmcloud.status, lmcloud.stderr).toBe(0);
      }
    });

    it("goes down leaving no container, network or volume behind", async () => {
      await cell?.down({ removeVolumes: true, timeout: 10_000 });
      cell = undefined;
      expect(await engineObjects("container")).toEqual(before.container);
      expect(await engineObjects("network")).toEqual(before.network);
      expect(await engineObjects("volume")).toEqual(before.volume);
    });
  });
});
