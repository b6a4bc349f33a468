// The recorded session: loading its rrweb events from the server and reading the few facts the UI needs.
import type { Replayer } from "@rrweb/replay";

/** One rrweb event, typed exactly as the Replayer accepts it (without importing rrweb's internal types package). */
export type RecordedEvent = Exclude<ConstructorParameters<typeof Replayer>[0][number], string>;

// rrweb's EventType and IncrementalSource numbers; they are part of the stored format, so they never change.
const FULL_SNAPSHOT = 2;
const INCREMENTAL_SNAPSHOT = 3;
const META = 4;
const SOURCE_MOUSE_MOVE = 1;
const SOURCE_INPUT = 5;

/** An error whose message is written for the person looking at the player. */
export class LoadError extends Error {}

/** Fetches the session's events (same-origin, with the dashboard's session cookie). */
export async function fetchEvents(url: string): Promise<RecordedEvent[]> {
  let response: Response;
  try {
    response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  } catch {
    throw new LoadError("Could not load this session (network error).");
  }
  if (!response.ok) throw new LoadError(`Could not load this session (HTTP ${response.status}).`);
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw new LoadError("Could not load this session (the server sent invalid data).");
  }
  return checkEvents(body);
}

export function isEvent(value: unknown): value is RecordedEvent {
  const e = value as { type?: unknown; timestamp?: unknown } | null;
  return !!e && typeof e.type === "number" && typeof e.timestamp === "number";
}

/** The Replayer throws on fewer than 2 events and shows nothing without a full snapshot: say so in words instead. */
function checkEvents(body: unknown): RecordedEvent[] {
  if (!Array.isArray(body)) throw new LoadError("Could not load this session (the server sent invalid data).");
  const events = body.filter(isEvent);
  if (events.length < 2 || !events.some((e) => e.type === FULL_SNAPSHOT)) {
    throw new LoadError("This session has nothing to replay yet.");
  }
  // The Replayer sorts its own copy; sorting ours too keeps our times (start, page loads) in step with it.
  return events.sort((a, b) => a.timestamp - b.timestamp);
}

/** Where and when each page load starts (Meta events), in ms from the session's first event. */
export interface PageLoad {
  time: number;
  href: string;
}

export function pageLoads(events: RecordedEvent[], start: number): PageLoad[] {
  return events
    .filter((e) => e.type === META)
    .map((e) => ({ time: e.timestamp - start, href: String((e.data as { href?: unknown }).href ?? "") }));
}

/**
 * Times (ms from the start) at which the visitor did something. Same rule as rrweb's own
 * "skip inactivity" (mouse move, click, scroll, viewport resize, input), plus page loads,
 * so the timeline's idle stretches match what the player will skip.
 */
export function activityTimes(events: RecordedEvent[], start: number): number[] {
  return events
    .filter((e) => {
      if (e.type === META || e.type === FULL_SNAPSHOT) return true;
      if (e.type !== INCREMENTAL_SNAPSHOT) return false;
      const source = (e.data as { source: number }).source;
      return source >= SOURCE_MOUSE_MOVE && source <= SOURCE_INPUT;
    })
    .map((e) => e.timestamp - start);
}

/** The first recorded viewport size, so the stage has its size before the Replayer reports it. */
export function firstViewport(events: RecordedEvent[]): { width: number; height: number } | null {
  const meta = events.find((e) => e.type === META);
  if (!meta) return null;
  const { width, height } = meta.data as { width: number; height: number };
  return { width, height };
}
