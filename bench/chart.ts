/**
 * A hand-written SVG line chart of throughput against concurrency: each measured series (the cell's, a
 * peer server's) on a log2 concurrency axis, and each baseline as a dashed horizontal line. Pure string output, so the
 * same inputs always give the same bytes.
 */

/** A measured point. */
export interface ChartPoint {
  readonly x: number;
  readonly y: number;
}

/** A horizontal reference line; a null value is listed in the legend as unavailable. */
export interface ReferenceLine {
  readonly label: string;
  readonly value: number | null;
}

/** One measured line. */
export interface ChartSeries {
  readonly label: string;
  readonly points: readonly ChartPoint[];
}

/** What the chart shows. */
export interface ThroughputChart {
  readonly title: string;
  readonly subtitle?: string;
  /** The first is drawn last, on top. */
  readonly series: readonly ChartSeries[];
  readonly references: readonly ReferenceLine[];
  /** @default "concurrent streams" */
  readonly xLabel?: string;
  /** @default "tokens/s" */
  readonly yLabel?: string;
}

const WIDTH = 760;
const HEIGHT = 420;
const PLOT = { left: 70, right: 540, top: 60, bottom: 360 } as const;
const SERIES_COLORS = ["#1f77b4", "#ff7f0e", "#17becf"] as const;
const seriesColor = (i: number) => SERIES_COLORS[i % SERIES_COLORS.length] ?? "#1f77b4";
const REFERENCE_COLORS = ["#d62728", "#2ca02c", "#9467bd", "#8c564b"] as const;

/** The smallest 1, 2 or 5 × 10^k that is ≥ `x` (x > 0). */
export function niceCeil(x: number): number {
  if (!(x > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(x));
  const step = [1, 2, 5, 10].find((m) => m * power >= x * (1 - 1e-12)) ?? 10;
  return step * power;
}

/** Y-axis ticks from 0 up to a nice maximum covering `max`, about five of them. */
export function yTicks(max: number): number[] {
  const step = niceCeil(max > 0 ? max / 5 : 1);
  const count = Math.max(1, Math.ceil((max * (1 - 1e-12)) / step));
  return Array.from({ length: count + 1 }, (_, i) => Number((i * step).toPrecision(12)));
}

/** Escapes text for SVG content and attributes. */
export function escapeXml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(1));
const px = (v: number) => v.toFixed(1);

function text(x: number, y: number, content: string, attrs = ""): string {
  return `<text x="${px(x)}" y="${px(y)}"${attrs ? ` ${attrs}` : ""}>${escapeXml(content)}</text>`;
}

/** The chart as a standalone SVG document. */
export function throughputSvg(chart: ThroughputChart): string {
  const points = chart.series.flatMap((series) => series.points);
  const xs = points.map((p) => Math.log2(Math.max(1, p.x)));
  const xMin = Math.min(0, ...xs);
  const xMax = Math.max(xMin + 1, ...xs);
  const values = [...points.map((p) => p.y), ...chart.references.map((r) => r.value ?? 0)];
  const ticks = yTicks(Math.max(0, ...values));
  const yMax = ticks[ticks.length - 1] ?? 1;
  const sx = (x: number) =>
    PLOT.left + ((Math.log2(Math.max(1, x)) - xMin) / (xMax - xMin)) * (PLOT.right - PLOT.left);
  const sy = (y: number) => PLOT.bottom - (y / yMax) * (PLOT.bottom - PLOT.top);
  const yMid = (PLOT.top + PLOT.bottom) / 2;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    text(PLOT.left, 24, chart.title, 'font-size="16" font-weight="bold"'),
  ];
  if (chart.subtitle) out.push(text(PLOT.left, 44, chart.subtitle, 'fill="#555"'));
  for (const tick of ticks) {
    const y = sy(tick);
    out.push(
      `<line x1="${PLOT.left}" y1="${px(y)}" x2="${PLOT.right}" y2="${px(y)}" stroke="#e5e5e5"/>`,
      text(PLOT.left - 8, y + 4, fmt(tick), 'text-anchor="end"'),
    );
  }
  for (const x of new Set(points.map((point) => point.x))) {
    out.push(text(sx(x), PLOT.bottom + 18, fmt(x), 'text-anchor="middle"'));
  }
  out.push(
    `<line x1="${PLOT.left}" y1="${PLOT.bottom}" x2="${PLOT.right}" y2="${PLOT.bottom}" stroke="#333"/>`,
    `<line x1="${PLOT.left}" y1="${PLOT.top}" x2="${PLOT.left}" y2="${PLOT.bottom}" stroke="#333"/>`,
    text(
      (PLOT.left + PLOT.right) / 2,
      PLOT.bottom + 40,
      chart.xLabel ?? "concurrent streams",
      'text-anchor="middle"',
    ),
    text(18, yMid, chart.yLabel ?? "tokens/s", `text-anchor="middle" transform="rotate(-90 18 ${yMid})"`),
  );
  chart.references.forEach((reference, i) => {
    if (reference.value === null) return;
    const color = REFERENCE_COLORS[i % REFERENCE_COLORS.length] ?? "#888";
    const y = px(sy(reference.value));
    out.push(
      `<line x1="${PLOT.left}" y1="${y}" x2="${PLOT.right}" y2="${y}" stroke="${color}" stroke-width="2" stroke-dasharray="6 4"/>`,
    );
  });
  [...chart.series.entries()].reverse().forEach(([i, series]) => {
    if (series.points.length === 0) return;
    const color = seriesColor(i);
    const path = series.points.map((p) => `${px(sx(p.x))},${px(sy(p.y))}`).join(" ");
    out.push(`<polyline points="${path}" fill="none" stroke="${color}" stroke-width="2.5"/>`);
    for (const p of series.points) {
      out.push(`<circle cx="${px(sx(p.x))}" cy="${px(sy(p.y))}" r="4" fill="${color}"/>`);
    }
  });
  out.push(...legend(chart));
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

function legend(chart: ThroughputChart): string[] {
  const x = PLOT.right + 20;
  const lines = chart.series.flatMap((series, i) => {
    const y = PLOT.top + 6 + i * 22;
    return [
      `<line x1="${x}" y1="${y}" x2="${x + 24}" y2="${y}" stroke="${seriesColor(i)}" stroke-width="2.5"/>`,
      text(x + 30, y + 4, series.label),
    ];
  });
  chart.references.forEach((reference, i) => {
    const y = PLOT.top + 30 + (chart.series.length - 1 + i) * 22;
    const color = REFERENCE_COLORS[i % REFERENCE_COLORS.length] ?? "#888";
    const value = reference.value === null ? "unavailable" : fmt(Number(reference.value.toPrecision(4)));
    lines.push(
      `<line x1="${x}" y1="${y - 4}" x2="${x + 24}" y2="${y - 4}" stroke="${color}" stroke-width="2" stroke-dasharray="6 4"/>`,
      text(x + 30, y, `${reference.label}: ${value}`),
    );
  });
  return lines;
}
