// The heatmap API's answer, checked: GET /api/v1/heatmap?project=&url=&from=&to=.
import { LoadError } from "./http";

export interface Click {
  /** pageX divided by the viewport width it was recorded at (0..1). */
  x: number;
  /** pageY in CSS px from the top of the document. */
  y: number;
  count: number;
  rage: number;
  dead: number;
}

export interface Snapshot {
  session_id: string;
  at_ms: number;
  width: number;
  height: number;
}

export interface HeatmapData {
  url: string;
  clicks: Click[];
  /** Sessions that reached each depth (% of the page's height), every 10 %. */
  scroll: { depth: number; sessions: number }[];
  snapshot: Snapshot | null;
  total_clicks: number;
  sessions: number;
}

const num = (v: unknown, fallback = 0): number => (typeof v === "number" && Number.isFinite(v) ? v : fallback);

export function checkData(body: unknown): HeatmapData {
  if (!body || typeof body !== "object") throw new LoadError("Could not load the heatmap (the server sent invalid data).");
  const b = body as Record<string, unknown>;
  const clicks = (Array.isArray(b.clicks) ? b.clicks : [])
    .map((c: Record<string, unknown>) => ({
      x: num(c?.x, NaN),
      y: num(c?.y, NaN),
      count: Math.max(0, num(c?.count, 1)),
      rage: Math.max(0, num(c?.rage)),
      dead: Math.max(0, num(c?.dead)),
    }))
    .filter((c) => c.x >= 0 && c.x <= 1 && c.y >= 0 && c.count > 0);
  const scroll = (Array.isArray(b.scroll) ? b.scroll : [])
    .map((s: Record<string, unknown>) => ({ depth: num(s?.depth, NaN), sessions: Math.max(0, num(s?.sessions)) }))
    .filter((s) => s.depth > 0 && s.depth <= 100)
    .sort((a, b2) => a.depth - b2.depth);
  const snap = b.snapshot as Record<string, unknown> | null | undefined;
  const snapshot =
    snap && typeof snap === "object" && typeof snap.session_id === "string"
      ? { session_id: snap.session_id, at_ms: Math.max(0, num(snap.at_ms)), width: num(snap.width), height: num(snap.height) }
      : null;
  return {
    url: typeof b.url === "string" ? b.url : "",
    clicks,
    scroll,
    snapshot,
    total_clicks: num(b.total_clicks, clicks.reduce((n, c) => n + c.count, 0)),
    sessions: num(b.sessions),
  };
}

export interface ScrollBand {
  /** The band's bottom edge, in % of the page's height (10, 20, … 100). */
  depth: number;
  /** Share of sessions that scrolled at least this far (0..1). */
  share: number;
}

/**
 * Share of sessions reaching each 10 % band: sessions at that depth over sessions at depth 10
 * (everyone who saw the page at all). A missing depth counts like the deepest one above it.
 * Empty when there is nothing to base the shares on.
 */
export function scrollBands(data: HeatmapData): ScrollBand[] {
  const at = new Map(data.scroll.map((s) => [Math.round(s.depth), s.sessions]));
  const base = at.get(10) || Math.max(0, ...data.scroll.map((s) => s.sessions)) || data.sessions;
  if (!data.scroll.length || !(base > 0)) return [];
  const bands: ScrollBand[] = [];
  let last = base;
  for (let depth = 10; depth <= 100; depth += 10) {
    const sessions = at.get(depth);
    if (sessions !== undefined) last = Math.min(last, sessions);
    bands.push({ depth, share: Math.min(1, Math.max(0, last / base)) });
  }
  return bands;
}

/** A robust "hottest" weight: the 95th percentile of the counts, so one outlier does not wash out the rest. */
export function heatMax(clicks: Click[]): number {
  if (!clicks.length) return 1;
  const counts = clicks.map((c) => c.count).sort((a, b) => a - b);
  const p95 = counts[Math.min(counts.length - 1, Math.floor(counts.length * 0.95))];
  return Math.max(2, p95);
}
