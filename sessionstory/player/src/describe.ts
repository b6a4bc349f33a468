// Short words for what happened, shared by the timeline's tooltips and the panels' rows.
import type { ErrorEntry, Moment, MomentKind, NetworkEntry, PageView, VitalEntry } from "./story";

export const MOMENT_NAMES: Record<MomentKind, string> = {
  click: "Click",
  input: "Input",
  rage_click: "Rage click",
  dead_click: "Dead click",
  error_click: "Error click",
  thrashed_cursor: "Thrashed cursor",
  quick_back: "Quick back",
  excessive_scroll: "Excessive scrolling",
};

export const FRUSTRATIONS: ReadonlySet<MomentKind> = new Set<MomentKind>([
  "rage_click",
  "dead_click",
  "error_click",
  "thrashed_cursor",
  "quick_back",
  "excessive_scroll",
]);

/** Collapses whitespace and cuts to `max` characters (the element's CSS may cut it shorter still). */
export function oneLine(s: string, max = 160): string {
  const flat = s.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** What was clicked: `#buy "Buy"`. */
export function target(m: Pick<Moment, "selector" | "text">): string {
  const words = oneLine(m.text, 60);
  return [m.selector ? oneLine(m.selector, 80) : "", words ? `"${words}"` : ""].filter(Boolean).join(" ");
}

/** "Rage click · #buy "Buy"", "Quick back · /pricing". */
export function momentLabel(m: Moment, home: string): string {
  let what = target(m);
  if (!what && (m.kind === "quick_back" || m.kind === "excessive_scroll" || m.kind === "thrashed_cursor")) {
    what = m.url ? shortUrl(m.url, home) : "";
  }
  return what ? `${MOMENT_NAMES[m.kind]} · ${what}` : MOMENT_NAMES[m.kind];
}

/** The origin of a URL ("" if it has none): the session's own origin, whose URLs are shown as paths. */
export function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "";
  }
}

/**
 * URLs already shortened, by home and URL: a long session names the same few pages in thousands of rows and
 * marks, and parsing each again was a fifth of filling them. A pure function's memo, bounded.
 */
const shortened = new Map<string, Map<string, string>>();
const SHORTENED_KEPT = 5000;

/** A URL as people scan it: path and query on the session's own origin (`home`), host and path elsewhere. */
export function shortUrl(url: string, home: string): string {
  let known = shortened.get(home);
  if (!known) shortened.set(home, (known = new Map()));
  let short = known.get(url);
  if (short === undefined) {
    if (known.size >= SHORTENED_KEPT) known.clear();
    known.set(url, (short = shorten(url, home)));
  }
  return short;
}

function shorten(url: string, home: string): string {
  try {
    const u = new URL(url);
    if (u.protocol !== "http:" && u.protocol !== "https:") return url;
    const path = `${u.pathname}${u.search}`;
    return u.origin === home ? path : `${u.host}${path === "/" ? "" : path}`;
  } catch {
    return url;
  }
}

export function statusText(n: NetworkEntry): string {
  return n.status === 0 ? "failed" : String(n.status);
}

/** "POST /api/pay → 500", "GET api.example/x → failed (Failed to fetch)". */
export function networkLabel(n: NetworkEntry, home: string): string {
  const why = n.status === 0 && n.error ? ` (${oneLine(n.error, 60)})` : "";
  return `${n.method} ${oneLine(shortUrl(n.url, home), 120)} → ${statusText(n)}${why}`;
}

/** The message without the browser's "Uncaught " prefix, which every uncaught error has. */
export function errorMessage(e: Pick<ErrorEntry, "message">): string {
  return e.message.replace(/^Uncaught\s+/, "");
}

export const ERROR_KINDS: Record<string, string> = {
  error: "Error",
  unhandledrejection: "Unhandled rejection",
  resource: "Failed resource",
};

export function pageName(p: PageView, home: string): string {
  return p.title.trim() || shortUrl(p.url, home) || "(unknown page)";
}

/** "1.2 s", "350 ms", CLS as a bare score. */
export function vitalValue(v: VitalEntry): string {
  if (v.name === "CLS") return String(v.value);
  return formatDuration(v.value);
}

export function formatDuration(ms: number): string {
  if (ms >= 60_000) return `${(ms / 60_000).toFixed(1)} min`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(ms >= 10_000 ? 0 : 1)} s`;
  return `${Math.round(ms)} ms`;
}
