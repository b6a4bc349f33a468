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

/**
 * Loads a session's events a range of batches at a time (the API's `start` and `count`), so the player
 * can start on the first part of a long session while the rest arrives.
 */
export class EventPages {
  private next = 0;
  private batches = Infinity;

  constructor(private readonly url: string) {}

  get done(): boolean {
    return this.next >= this.batches;
  }

  /**
   * How many batches to ask for next to reach `ms` into a session of about `total` ms in one request
   * (batches spread evenly, plus a margin), and at least `atLeast`.
   */
  countToReach(ms: number, total: number, atLeast: number): number {
    if (!Number.isFinite(this.batches) || total <= 0) return atLeast;
    return Math.max(atLeast, Math.ceil((ms / total) * this.batches) - this.next + 8);
  }

  /** The events of the next `count` batches, in timestamp order. */
  async fetch(count: number): Promise<RecordedEvent[]> {
    return (await this.ask(count))();
  }

  /**
   * Asks for the next `count` batches and waits only for the answer's headers, which say how many batches
   * the session has: the next request can go out while this one's events still download. The returned
   * function reads them.
   */
  async ask(count: number): Promise<() => Promise<RecordedEvent[]>> {
    const url = new URL(this.url, location.href);
    url.searchParams.set("start", String(this.next));
    url.searchParams.set("count", String(count));
    this.next += count;
    let response: Response;
    try {
      // Exactly the request the page's <link rel="preload"> makes for the first page (same URL, no extra
      // headers, same credentials), so the browser hands over that answer instead of asking again.
      response = await fetch(url, { credentials: "same-origin" });
    } catch {
      throw new LoadError("Could not load this session (network error).");
    }
    if (!response.ok) throw new LoadError(`Could not load this session (HTTP ${response.status}).`);
    this.batches = Number(response.headers.get("X-Batches") ?? 0);
    return () => readEvents(response);
  }
}

async function readEvents(response: Response): Promise<RecordedEvent[]> {
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw new LoadError("Could not load this session (the server sent invalid data).");
  }
  if (!Array.isArray(body)) throw new LoadError("Could not load this session (the server sent invalid data).");
  // The Replayer sorts its own copy; sorting ours too keeps our times (start, page loads) in step with it.
  return body.filter(isEvent).sort((a, b) => a.timestamp - b.timestamp);
}

export function isEvent(value: unknown): value is RecordedEvent {
  const e = value as { type?: unknown; timestamp?: unknown } | null;
  return !!e && typeof e.type === "number" && typeof e.timestamp === "number";
}

/** Whether `events` are enough to show the moment `ms` after their start: a full snapshot, and time up to it. */
export function reaches(events: RecordedEvent[], ms: number): boolean {
  return (
    events.some((e) => e.type === FULL_SNAPSHOT) && events[events.length - 1].timestamp - events[0].timestamp >= ms
  );
}

/** The Replayer throws on fewer than 2 events and shows nothing without a full snapshot: say so in words instead. */
export function checkEvents(events: RecordedEvent[]): RecordedEvent[] {
  if (events.length < 2 || !events.some((e) => e.type === FULL_SNAPSHOT)) {
    throw new LoadError("This session has nothing to replay yet.");
  }
  return events;
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
/** The size of the page shown `ms` after the first event: its last page load (Meta) at or before then. */
export function viewportAt(events: RecordedEvent[], ms: number): { width: number; height: number } | null {
  const until = events.length ? events[0].timestamp + ms : 0;
  let meta: RecordedEvent | undefined;
  for (const e of events) {
    if (e.timestamp > until) break;
    if (e.type === META) meta = e;
  }
  if (!meta) return firstViewport(events);
  const { width, height } = meta.data as { width: number; height: number };
  return { width, height };
}

export function sameViewport(a: { width: number; height: number } | null, b: { width: number; height: number } | null): boolean {
  return !!a && !!b && a.width === b.width && a.height === b.height;
}

export function firstViewport(events: RecordedEvent[]): { width: number; height: number } | null {
  const meta = events.find((e) => e.type === META);
  if (!meta) return null;
  const { width, height } = meta.data as { width: number; height: number };
  return { width, height };
}
