import { describe, expect, it } from "vitest";
import { escapeXml, niceCeil, throughputSvg, yTicks, type ThroughputChart } from "../../../bench/chart.js";

const CHART: ThroughputChart = {
  title: "Throughput <TinyLlama>",
  series: [
    {
      label: "cell",
      points: [
        { x: 1, y: 100 },
        { x: 8, y: 400 },
        { x: 32, y: 900 },
      ],
    },
  ],
  references: [
    { label: "in-process JAX", value: 250 },
    { label: "HF & co", value: null },
  ],
};

describe("axis helpers", () => {
  it("rounds up to 1, 2 or 5 times a power of ten", () => {
    expect([0.7, 1, 1.2, 3, 7, 180, 5000].map(niceCeil)).toEqual([1, 1, 2, 5, 10, 200, 5000]);
  });

  it("ticks from zero past the maximum in nice steps", () => {
    expect(yTicks(900)).toEqual([0, 200, 400, 600, 800, 1000]);
    expect(yTicks(0)).toEqual([0, 1]);
  });

  it("escapes markup characters", () => {
    expect(escapeXml(`a<b>&"c"`)).toBe("a&lt;b&gt;&amp;&quot;c&quot;");
  });
});

describe("throughputSvg", () => {
  it("draws one polyline point and marker per level, and a dashed line per available baseline", () => {
    const svg = throughputSvg(CHART);
    expect(svg.startsWith("<svg ")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    const polyline = /<polyline points="([^"]+)"/.exec(svg)?.[1] ?? "";
    expect(polyline.split(" ")).toHaveLength(3);
    expect(svg.match(/<circle /g)).toHaveLength(3);
    expect(svg.match(/stroke-dasharray/g)).toHaveLength(3); // one plot line, two legend entries
    expect(svg).toContain("HF &amp; co: unavailable");
    expect(svg).toContain("Throughput &lt;TinyLlama&gt;");
  });

  it("puts concurrency on a log2 axis: 8 sits three fifths of the way from 1 to 32", () => {
    const xs = (/<polyline points="([^"]+)"/.exec(throughputSvg(CHART))?.[1] ?? "")
      .split(" ")
      .map((pair) => Number(pair.split(",")[0]));
    const [x1 = 0, x8 = 0, x32 = 0] = xs;
    expect((x8 - x1) / (x32 - x1)).toBeCloseTo(3 / 5, 5);
  });

  it("is deterministic and still renders with no points", () => {
    expect(throughputSvg(CHART)).toBe(throughputSvg(CHART));
    const empty = throughputSvg({ ...CHART, series: [{ label: "cell", points: [] }], references: [] });
    expect(empty).not.toContain("<polyline");
    expect(empty).toContain("</svg>");
  });

  it("draws a line per series, each in its own colour, with the x ticks of all of them once", () => {
    const peer = {
      label: "llama-server",
      points: [
        { x: 1, y: 150 },
        { x: 64, y: 600 },
      ],
    };
    const svg = throughputSvg({ ...CHART, series: [...CHART.series, peer] });
    const strokes = [...svg.matchAll(/<polyline points="[^"]+" fill="none" stroke="([^"]+)"/g)].map(
      (m) => m[1],
    );
    expect(new Set(strokes).size).toBe(2);
    expect(svg.match(/<circle /g)).toHaveLength(5);
    expect(svg).toContain(">llama-server</text>");
    expect(svg.match(/text-anchor="middle">1<\/text>/g)).toHaveLength(1);
  });
});
