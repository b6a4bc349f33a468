// The data-chart contract: {"kind": "bars"|"line", "x": ["YYYY-MM-DD", ...],
// "series": [{"label": "...", "values": [n, ...], "color"?: "#rrggbb"}], "height"?: px}.

export type ChartKind = "bars" | "line";

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  color: string;
}

export interface ChartSpec {
  kind: ChartKind;
  /** Local midnight of each day, in seconds (uPlot's time unit), so uPlot's local-time ticks land on the right day. */
  x: number[];
  series: ChartSeries[];
  height: number;
}

export class ChartDataError extends Error {}

export const DAY_S = 86_400;
const DEFAULT_HEIGHT = 220;

export const COLORS = {
  accent: "#2f5bd3",
  errors: "#c0362c",
  frustration: "#d98b00",
  // For further series: muted, and far enough apart from the three above.
  others: ["#64748b", "#0e9384", "#7c4dcc", "#c2417f"],
};

/** Parses the (already HTML-unescaped) data-chart attribute. */
export function parseSpec(raw: string | undefined): ChartSpec {
  let data: unknown;
  try {
    data = JSON.parse(raw ?? "");
  } catch {
    throw new ChartDataError("data-chart is not valid JSON");
  }
  const obj = (data ?? {}) as Record<string, unknown>;
  const kind: ChartKind = obj.kind === "line" ? "line" : "bars";
  if (!Array.isArray(obj.x)) throw new ChartDataError("data-chart has no x array");
  const x = obj.x.map(dayToSeconds);
  const rawSeries = Array.isArray(obj.series) ? obj.series : [];
  const colors = pickColors(rawSeries.map((s) => seriesLabel(s)), rawSeries.map((s) => explicitColor(s)));
  const series = rawSeries.map((s, i) => ({
    label: seriesLabel(s),
    values: seriesValues(s, x.length),
    color: colors[i],
  }));
  const height = typeof obj.height === "number" && obj.height >= 80 && obj.height <= 2000 ? obj.height : DEFAULT_HEIGHT;
  return { kind, x, series, height };
}

/** True when there is nothing to draw: no days, no series, or not one value. */
export function isEmpty(spec: ChartSpec): boolean {
  return spec.x.length === 0 || !spec.series.some((s) => s.values.some((v) => v !== null));
}

function dayToSeconds(value: unknown): number {
  const m = typeof value === "string" ? /^(\d{4})-(\d{2})-(\d{2})/.exec(value) : null;
  if (!m) throw new ChartDataError(`x value ${JSON.stringify(value)} is not a YYYY-MM-DD date`);
  const date = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (Number.isNaN(date.getTime())) throw new ChartDataError(`x value ${JSON.stringify(value)} is not a date`);
  return date.getTime() / 1000;
}

function seriesLabel(s: unknown): string {
  const label = (s as { label?: unknown } | null)?.label;
  return typeof label === "string" && label.trim() ? label.trim() : "Value";
}

function seriesValues(s: unknown, length: number): (number | null)[] {
  const values = (s as { values?: unknown } | null)?.values;
  const list = Array.isArray(values) ? values : [];
  const out: (number | null)[] = [];
  for (let i = 0; i < length; i++) {
    const v = list[i];
    out.push(typeof v === "number" && Number.isFinite(v) ? v : null);
  }
  return out;
}

function explicitColor(s: unknown): string | null {
  const color = (s as { color?: unknown } | null)?.color;
  return typeof color === "string" && /^#[0-9a-f]{3}([0-9a-f]{3})?$/i.test(color) ? color : null;
}

/** Errors are red and frustration amber wherever they appear; the first other series gets the accent. */
function pickColors(labels: string[], explicit: (string | null)[]): string[] {
  let others = 0;
  let accentUsed = false;
  return labels.map((label, i) => {
    if (explicit[i]) return explicit[i] as string;
    if (/error|exception|crash|fail/i.test(label)) return COLORS.errors;
    if (/rage|dead|frustrat|thrash|u-turn/i.test(label)) return COLORS.frustration;
    if (!accentUsed) {
      accentUsed = true;
      return COLORS.accent;
    }
    return COLORS.others[others++ % COLORS.others.length];
  });
}
