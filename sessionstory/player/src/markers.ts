// The marks on the seek bar: what happened when, each kind with its own shape and colour (see player.css).
import { errorMessage, momentLabel, networkLabel, oneLine, pageName } from "./describe";
import type { TeamComment } from "./comments";
import type { Moment, Story } from "./story";

export type MarkerKind =
  | "comment"
  | "error"
  | "error-click"
  | "network"
  | "console"
  | "rage"
  | "dead"
  | "signal"
  | "custom"
  | "page"
  | "click";

export interface Marker {
  time: number;
  kind: MarkerKind;
  label: string;
}

/** Most telling first: listed first where marks overlap. */
export const MARKER_RANK: Record<MarkerKind, number> = {
  comment: -1, // what a teammate wrote about this moment says more than what the page did
  error: 0,
  "error-click": 1,
  network: 2,
  console: 3,
  rage: 4,
  dead: 5,
  signal: 6,
  custom: 7,
  page: 8,
  click: 9,
};

/** A page view this close to the start is the session's first page, not a navigation worth a mark. */
const FIRST_PAGE_MS = 1000;

export function buildMarkers(story: Story, moments: Moment[], home: string, comments: TeamComment[] = []): Marker[] {
  const marks: Marker[] = comments.map((c) => ({ time: c.at, kind: "comment", label: `Comment · ${c.author}: ${oneLine(c.body, 120)}` }));
  for (const p of story.pages) {
    if (p.time >= FIRST_PAGE_MS) marks.push({ time: p.time, kind: "page", label: `Page view · ${oneLine(pageName(p, home))}` });
  }
  for (const m of moments) {
    const kind: MarkerKind | null =
      m.kind === "click"
        ? "click"
        : m.kind === "rage_click"
          ? "rage"
          : m.kind === "dead_click"
            ? "dead"
            : m.kind === "error_click"
              ? "error-click"
              : m.kind === "input"
                ? null // typing is shown by the replay itself; marks for it would bury the rest
                : "signal";
    if (kind) marks.push({ time: m.time, kind, label: momentLabel(m, home) });
  }
  for (const e of story.errors) marks.push({ time: e.time, kind: "error", label: oneLine(errorMessage(e)) });
  for (const c of story.console) {
    if (c.level === "error") marks.push({ time: c.time, kind: "console", label: `Console error · ${oneLine(c.message)}` });
  }
  // At the moment the request failed, which is when the visitor could notice.
  for (const n of story.network) if (n.failed) marks.push({ time: n.end, kind: "network", label: networkLabel(n, home) });
  for (const c of story.custom) {
    if (c.tag === "track") marks.push({ time: c.time, kind: "custom", label: `Custom event · ${oneLine(c.name)}` });
  }
  // In time order for the keyboard; CSS paints the most telling kinds on top.
  return marks.sort((a, b) => a.time - b.time || MARKER_RANK[a.kind] - MARKER_RANK[b.kind]);
}
