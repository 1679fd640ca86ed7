import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeDataServer, type FakeDataServer } from "../../helpers/fake-data-server.js";
import { saxutil, type SaxutilRunOptions } from "../../helpers/saxutil.js";
import { startTestAdmin, type TestAdmin } from "../../helpers/test-admin.js";

const ID = "/sax/test/m";
const PATH = "saxml.test.Model";
const png = (n: number) => Buffer.from([0x89, 0x50, 0x4e, 0x47, n]);

// The data commands against scripted LM and vision answers, found through a real (in-process) admin.
describe("saxutil data commands", () => {
  let cell: TestAdmin;
  let server: FakeDataServer;
  let dir: string;
  const run = (argv: string[], options: SaxutilRunOptions = {}) =>
    saxutil(argv, { saxRoot: cell.saxRoot, ...options });
  const lastRequest = (key: string) => server.requests.get(key)?.at(-1);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "saxutil-data-"));
    cell = await startTestAdmin();
    server = await startFakeDataServer({
      lm: {
        generate: {
          texts: [
            { text: "low", score: -2.5 },
            { text: "high", score: -0.123456789 },
          ],
        },
        generateStream: [
          { items: [{ text: "Hel", prefixLen: 0, score: 0, scores: [-1] }] },
          { items: [{ text: "lo!", prefixLen: 3, score: 0, scores: [-0.5] }] },
        ],
        score: { logp: [0.5, -1.23456789, -2, -3] },
        embed: { embedding: [0.5, -1.23456789, 123456789, 1e-5, 0.0001, 100, 0, 3] },
        gradient: {
          score: [-1.5],
          gradients: { b: { values: [1, 2, 3, 4, 5, 6, 7, 8, 9] }, a: { values: [0.25] } },
        },
      },
      vision: {
        classify: {
          texts: [
            { text: "cat", score: 0.9 },
            { text: "dog", score: 0.05 },
          ],
        },
        textToImage: {
          images: [
            { image: png(1), score: -1 },
            { image: png(2), score: -2 },
          ],
        },
        embed: { embedding: [1, 2] },
        detect: {
          boundingBoxes: [
            {
              cx: 10.5,
              cy: 20,
              w: 3,
              h: 4,
              text: "cat",
              score: 0.75,
              mask: { maskValues: Buffer.alloc(6), maskHeight: 2, maskWidth: 3 },
            },
          ],
        },
      },
    });
    await server.join(cell.server.address, [PATH]);
    const published = await run(["publish", "-wait", ID, PATH, "None", "1"]);
    expect(published.status, published.stderr).toBe(0);
  });
  afterAll(async () => {
    await server?.close();
    await cell?.[Symbol.asyncDispose]();
    await rm(dir, { recursive: true, force: true });
  });

  it("prints generated texts in response order, -n of them, or tersely by score", async () => {
    expect((await run(["lm.generate", ID, "q"])).stdout).toBe(
      "+----------+-------------+\n" +
        "| GENERATE |    SCORE    |\n" +
        "+----------+-------------+\n" +
        "| low      |        -2.5 |\n" +
        "| high     | -0.12345679 |\n" +
        "+----------+-------------+\n",
    );
    expect((await run(["lm.generate", "-n=1", ID, "q"])).stdout).toContain("| low      |");
    expect((await run(["lm.generate", "-terse", ID, "q"])).stdout).toBe("high\nlow\n");
    expect((await run(["lm.generate", "-terse", "-n=1", ID, "q"])).stdout).toBe("high\n");
    expect(JSON.parse((await run(["lm.generate", "-json", ID, "q"])).stdout)).toEqual({
      texts: [
        { text: "low", score: -2.5 },
        { text: "high", score: -0.123456789 },
      ],
    });
  });

  it("sends -extra as extra inputs and reads a query of - from stdin", async () => {
    const result = await run(["lm.generate", "-extra=temperature:0.5,mode:'greedy',tag:abc", ID, "-"], {
      stdin: "from stdin\n",
    });
    expect(result.status, result.stderr).toBe(0);
    expect(lastRequest("lm.generate")).toMatchObject({
      modelKey: ID,
      text: "from stdin\n",
      extraInputs: { items: { temperature: 0.5 }, strings: { mode: "greedy", tag: "abc" } },
    });
  });

  it("streams into a pipe without clearing the screen, then prints the summed score", async () => {
    expect(await run(["lm.generate", "-stream", ID, "q"])).toEqual({
      status: 0,
      stdout: "Hello!\n\nScores: -1.5\n",
      stderr: "",
    });
  });

  it("redraws the whole screen per message on a terminal", async () => {
    const { stdout } = await run(["lm.generate", "-stream", ID, "q"], { tty: true });
    expect(stdout).toBe("\u001b[H\u001b[2JHel\n\n\u001b[H\u001b[2JHello!\n\nScores: -1.5\n");
  });

  it("splits scores across suffixes with Saxml's extra blank columns", async () => {
    expect((await run(["lm.score", ID, "prefix", "s1", "s2"])).stdout).toBe(
      "+--------+-------+------------+--+--+\n" +
        "| SUFFIX | SCORE |            |  |  |\n" +
        "+--------+-------+------------+--+--+\n" +
        "| s1     |   0.5 | -1.2345679 |  |  |\n" +
        "| s2     |    -2 |         -3 |  |  |\n" +
        "+--------+-------+------------+--+--+\n",
    );
    expect(lastRequest("lm.score")).toMatchObject({ prefix: "prefix", suffix: ["s1", "s2"] });
  });

  it("prints an embedding's values with 8 significant digits, wrapped at 30 columns", async () => {
    expect((await run(["lm.embed", ID, "hi"])).stdout).toBe(
      "+------+--------------------------------+\n" +
        "| TEXT |           EMBEDDING            |\n" +
        "+------+--------------------------------+\n" +
        "| hi   | 0.5, -1.2345679,               |\n" +
        "|      | 1.2345679E+08, 1E-05, 0.0001,  |\n" +
        "|      | 100, 0, 3                      |\n" +
        "+------+--------------------------------+\n",
    );
  });

  it("prints the scores and the first 8 values of each gradient", async () => {
    expect((await run(["lm.gradient", ID, "p", "s"])).stdout).toBe(
      "+-------+------+-----------------------------+\n" +
        "| SCORE |  A   |              B              |\n" +
        "+-------+------+-----------------------------+\n" +
        "|  -1.5 | 0.25 | 1, 2, 3, 4, 5, 6, 7, 8, ... |\n" +
        "+-------+------+-----------------------------+\n",
    );
  });

  it("classifies an image file", async () => {
    const image = join(dir, "cat.png");
    await writeFile(image, png(7));
    expect((await run(["vm.classify", ID, image])).stdout).toBe(
      "+------+-------+\n| TEXT | SCORE |\n+------+-------+\n| cat  |   0.9 |\n| dog  |  0.05 |\n+------+-------+\n",
    );
    expect(lastRequest("vision.classify")).toMatchObject({ imageBytes: png(7) });
  });

  it("fails with exit 1 when the image file cannot be read", async () => {
    const { status, stderr } = await run(["vm.classify", ID, join(dir, "missing.png")]);
    expect(status).toBe(1);
    expect(stderr).toMatch(/^saxutil: cannot read input file .*missing\.png: /);
  });

  it("writes generated images as 0001.PNG, 0002.PNG into a new directory after listing them", async () => {
    const out = join(dir, "images");
    const { stdout } = await run(["vm.generate", ID, "a cat", out]);
    expect(stdout).toContain(`| ${out}/0001.PNG |    -1 |`);
    expect(stdout).toContain(`| ${out}/0002.PNG |    -2 |`);
    expect(await readFile(join(out, "0002.PNG"))).toEqual(png(2));
    expect((await stat(join(out, "0001.PNG"))).mode & 0o777).toBe(0o640);
  });

  it("writes the raw image bytes to stdout for an output of -", async () => {
    expect((await run(["vm.generate", ID, "a cat", "-"])).stdout).toBe(
      Buffer.concat([png(1), png(2)]).toString(),
    );
  });

  it("embeds an image read from stdin, naming it stdin", async () => {
    expect((await run(["vm.embed", ID, "-"], { stdin: "img" })).stdout).toBe(
      "+-------+-----------+\n| IMAGE | EMBEDDING |\n+-------+-----------+\n| stdin | 1, 2      |\n+-------+-----------+\n",
    );
  });

  it("prints detected boxes with their mask size and sends the texts to look for", async () => {
    const image = join(dir, "scene.png");
    await writeFile(image, png(9));
    expect((await run(["vm.detect", ID, image, "cat", "dog"])).stdout).toBe(
      "+---------+---------+-------+--------+------+-------+------+\n" +
        "| CENTERX | CENTERY | WIDTH | HEIGHT | TEXT | SCORE | MASK |\n" +
        "+---------+---------+-------+--------+------+-------+------+\n" +
        "|    10.5 |      20 |     3 |      4 | cat  |  0.75 | 2,3  |\n" +
        "+---------+---------+-------+--------+------+-------+------+\n",
    );
    expect(lastRequest("vision.detect")).toMatchObject({ text: ["cat", "dog"] });
  });

  it("saves through a serving replica, and reports a failed export with exit 1", async () => {
    const { status, stderr } = await run(["save", ID, "/tmp/ckpt"]);
    expect(status).toBe(0);
    expect(stderr).toBe("");
    const exported = await run(["export", ID, "lm.generate", "/tmp/export"]);
    expect(exported.status).toBe(1);
    expect(exported.stderr).toMatch(
      /^saxutil: cannot export \/sax\/test\/m \(lm.generate\) to \/tmp\/export: /,
    );
  });
});
