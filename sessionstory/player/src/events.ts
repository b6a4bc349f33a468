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
 * Loads a session's events from the server a range of batches at a time: first what shows one moment (the API's
 * `at`: from the last page load before it), then the batches after that range and those before it (`start` and
 * `count`), so a long session opens at any moment without fetching what comes before.
 */
export class EventPages {
  /** The loaded batches, by their place in seq order: `from` to `to` (excluded). */
  private from = 0;
  private to = 0;
  private batches = Infinity;
  /** The session's first event's timestamp, which every time in the player counts from. */
  started: number | null = null;

  constructor(private readonly url: string) {}

  get done(): boolean {
    return this.from === 0 && this.forwardDone;
  }

  get forwardDone(): boolean {
    return this.to >= this.batches;
  }

  get hasEarlier(): boolean {
    return this.from > 0;
  }

  /**
   * The events that show the moment `ms` after the session's start: exactly the request the page's
   * `<link rel="preload">` makes (same URL, no extra headers, same credentials), so the browser hands over
   * that answer instead of asking again.
   */
  async open(ms: number): Promise<RecordedEvent[]> {
    const response = await this.get({ at: ms });
    performance.mark("ss:answered"); // one of the opening's steps that index.ts lists
    this.from = Number(response.headers.get("X-First-Batch") ?? 0);
    this.to = Number(response.headers.get("X-Next-Batch") ?? this.batches);
    const started = Number(response.headers.get("X-Session-Start") ?? NaN);
    const events = await readEvents(response);
    this.started = Number.isFinite(started) ? started : (events[0]?.timestamp ?? null);
    return events;
  }

  /** The events of up to `count` batches after those loaded, in timestamp order. */
  async forward(count: number): Promise<RecordedEvent[]> {
    const start = this.to;
    this.to += count;
    return readEvents(await this.get({ start, count }));
  }

  /** The events of up to `count` batches before those loaded (all of them by default), in timestamp order. */
  async earlier(count = Infinity): Promise<RecordedEvent[]> {
    const start = Math.max(0, this.from - count);
    const taken = this.from - start;
    this.from = start;
    return readEvents(await this.get({ start, count: taken }));
  }

  private async get(params: Record<string, number>): Promise<Response> {
    const url = new URL(this.url, location.href);
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, String(value));
    let response: Response;
    try {
      response = await fetch(url, { credentials: "same-origin" });
    } catch {
      throw new LoadError("Could not load this session (network error).");
    }
    if (!response.ok) throw new LoadError(`Could not load this session (HTTP ${response.status}).`);
    this.batches = Number(response.headers.get("X-Batches") ?? 0);
    return response;
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

/** Whether `events` are enough to show the moment `at` (a timestamp): a full snapshot, and time up to it. */
export function reaches(events: RecordedEvent[], at: number): boolean {
  return events.some((e) => e.type === FULL_SNAPSHOT) && events.length > 0 && events[events.length - 1].timestamp >= at;
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

/** The timestamp of the first page load (Meta) in `events`, before which they cannot show the page. */
export function firstPageLoad(events: RecordedEvent[]): number {
  return events.find((e) => e.type === META)?.timestamp ?? events[0]?.timestamp ?? -Infinity;
}

/**
 * The timestamp, `at` or a moment after, by which the page shown at `at` is built. rrweb shows a moment with the
 * events before it, so at a page load's very moment (its Meta, then its full snapshot a millisecond or so later)
 * it would still show the page before: the session's start, or a link to a page view, would open on the wrong page.
 */
export function pageBuiltBy(events: RecordedEvent[], at: number): number {
  let load = -1;
  for (let i = 0; i < events.length && events[i].timestamp <= at; i++) if (events[i].type === META) load = i;
  if (load < 0) return at;
  for (let i = load; i < events.length; i++) {
    if (events[i].type === FULL_SNAPSHOT) return Math.max(at, events[i].timestamp + 1);
    if (events[i].type === META && i > load) break;
  }
  return at;
}

/** The size of the page shown at the timestamp `at`: its last page load (Meta) at or before then. */
export function viewportAt(events: RecordedEvent[], at: number): { width: number; height: number } | null {
  let meta: RecordedEvent | undefined;
  for (const e of events) {
    if (e.timestamp > at) break;
    if (e.type === META) meta = e;
  }
  if (!meta) return firstViewport(events);
  const { width, height } = meta.data as { width: number; height: number };
  return { width, height };
}

export function sameViewport(a: { width: number; height: number } | null, b: { width: number; height: number } | null): boolean {
  return !!a && !!b && a.width === b.width && a.height === b.height;
}

/** The first recorded viewport size, so the stage has its size before the Replayer reports it. */
export function firstViewport(events: RecordedEvent[]): { width: number; height: number } | null {
  const meta = events.find((e) => e.type === META);
  if (!meta) return null;
  const { width, height } = meta.data as { width: number; height: number };
  return { width, height };
}
