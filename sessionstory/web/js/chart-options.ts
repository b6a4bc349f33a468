// uPlot settings for our two kinds of daily chart: grouped bars and lines.
import uPlot from "uplot";
import { DAY_S, type ChartSeries, type ChartSpec } from "./chart-data";
import { formatCompact, formatDay, formatMonth } from "./chart-format";
import { tooltipPlugin } from "./chart-tooltip";

const FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
const AXIS_TEXT = "#6b7280";
const GRID = "#eceef2";
const BASELINE = "#d7dbe2";

/** A group of bars takes at most this share of its day, and each bar at most this many CSS px. */
const GROUP_SHARE = 0.72;
const MAX_BAR_PX = 28;
const BAR_GAP_PX = 2;

/** Tick steps on the day axis: whole days, weeks, then calendar months (uPlot treats 30 days as "month"). */
const DAY_INCRS = [1, 2, 3, 7, 14].map((d) => d * DAY_S).concat([30, 60, 90, 180, 365].map((d) => d * DAY_S));
/** Tick steps for counts: never a fraction of a visit. */
const COUNT_INCRS = [1, 2, 5].flatMap((m) => [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8].map((p) => m * p)).sort((a, b) => a - b);

export function chartOptions(spec: ChartSpec, width: number): uPlot.Options {
  const bars = spec.kind === "bars";
  const integers = spec.series.every((s) => s.values.every((v) => v === null || Number.isInteger(v)));
  return {
    width,
    height: spec.height,
    // A line ends on its last day: room on the right for that tick's label.
    padding: [12, bars ? 8 : 20, 0, 0],
    cursor: {
      x: !bars, // bars get a highlighted column instead of a line
      y: false,
      points: bars ? { show: false } : { size: 8, width: 2, fill: "#ffffff" },
      drag: { x: false, y: false, setScale: false },
    },
    select: { show: false, left: 0, top: 0, width: 0, height: 0 },
    legend: {
      show: spec.series.length > 1,
      live: false,
      markers: { width: 0, fill: (_u, i) => spec.series[i - 1]?.color ?? "transparent" },
    },
    scales: {
      x: { time: true, range: () => xRange(spec) },
      y: { range: (_u, _min, max) => [0, niceMax(max)] },
    },
    axes: [
      {
        font: FONT,
        stroke: AXIS_TEXT,
        space: 64,
        gap: 6,
        size: 30,
        incrs: DAY_INCRS,
        values: (_u, splits, _axis, _space, incr) => splits.map((s) => (incr >= 28 * DAY_S ? formatMonth(s) : formatDay(s))),
        grid: { show: false },
        ticks: { show: true, stroke: BASELINE, width: 1, size: 4 },
        border: { show: true, stroke: BASELINE, width: 1 },
      },
      {
        font: FONT,
        stroke: AXIS_TEXT,
        space: 32,
        gap: 8,
        size: (u, values) => axisWidth(u, values),
        incrs: integers ? COUNT_INCRS : undefined,
        values: (_u, splits) => splits.map(formatCompact),
        grid: { stroke: GRID, width: 1 },
        ticks: { show: false },
      },
    ],
    series: [{}, ...spec.series.map((s, i) => (bars ? barSeries(s, i, spec.series.length) : lineSeries(s, i, spec.x.length)))],
    plugins: [tooltipPlugin(spec)],
  };
}

/** Always the days asked for (no zooming); bars need half a day of room on each side, as does a lone day. */
function xRange(spec: ChartSpec): uPlot.Range.MinMax {
  const lo = Math.min(...spec.x);
  const hi = Math.max(...spec.x);
  if (spec.kind === "bars" || lo === hi) return [lo - DAY_S / 2, hi + DAY_S / 2];
  return [lo, hi];
}

/** Room above the tallest value, ending on a round number. */
function niceMax(max: number | null): number {
  if (max === null || !(max > 0)) return 4;
  return uPlot.rangeNum(0, max, 0.1, true)[1] as number;
}

function axisWidth(u: uPlot, values: string[] | null): number {
  const longest = (values ?? []).reduce((n, v) => Math.max(n, String(v).length), 1);
  return Math.ceil(longest * 7.2 + 16 + (u.axes[1].gap ?? 8));
}

function barSeries(s: ChartSeries, index: number, count: number): uPlot.Series {
  return {
    label: s.label,
    stroke: s.color,
    fill: s.color,
    width: 0,
    paths: groupedBars(index, count),
    points: { show: false },
  };
}

function lineSeries(s: ChartSeries, index: number, days: number): uPlot.Series {
  return {
    label: s.label,
    stroke: s.color,
    width: 2,
    // Only the first line gets a soft area under it; more would muddy each other.
    fill: index === 0 ? `${s.color}14` : undefined,
    paths: uPlot.paths.linear?.(),
    points: { show: days <= 31, size: 5, width: 1.5, fill: "#ffffff" },
    spanGaps: false,
  };
}

/**
 * Bars of one series, placed side by side with the other series' bars of the same day (uPlot's bar
 * builder draws one series at a time, so each series gets its own offset within the day's group).
 */
function groupedBars(index: number, count: number): uPlot.Series.PathBuilder {
  const geometry = (u: uPlot): { offset: number; size: number } => {
    const dayPx = u.valToPos(DAY_S, "x") - u.valToPos(0, "x");
    const secPerPx = DAY_S / Math.max(dayPx, 1e-6);
    const gapPx = count > 1 && dayPx * GROUP_SHARE > count * 6 ? BAR_GAP_PX : 0;
    const barPx = Math.max(1, Math.min(MAX_BAR_PX, (dayPx * GROUP_SHARE - gapPx * (count - 1)) / count));
    const groupPx = barPx * count + gapPx * (count - 1);
    return { offset: (-groupPx / 2 + index * (barPx + gapPx)) * secPerPx, size: barPx * secPerPx };
  };
  return uPlot.paths.bars!({
    radius: [0.2, 0],
    disp: {
      x0: {
        unit: 1 as uPlot.Series.BarsPathBuilderFacetUnit,
        values: (u) => {
          const { offset } = geometry(u);
          return (u.data[0] as number[]).map((x) => x + offset);
        },
      },
      size: {
        unit: 1 as uPlot.Series.BarsPathBuilderFacetUnit,
        values: (u) => [geometry(u).size],
      },
    },
  });
}
