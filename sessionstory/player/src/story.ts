// What happened in the session besides the DOM: read from our SDK's Custom events (console, network,
// errors, page views, vitals, custom events) and from the server's moments (clicks and frustration signals).
// Every string here came from the visitor's browser: it is only ever shown as text.
import type { RecordedEvent } from "./events";

const META = 4;
const CUSTOM = 5;

/** Longest string we keep from a payload (the SDK already cuts its own; a forged event may not). */
const MAX_TEXT = 4000;

export interface ConsoleEntry {
  time: number;
  level: "warn" | "error";
  message: string;
  stack: string;
}

export interface NetworkEntry {
  /** When the request started (the SDK records it when it settled, `duration` later). */
  time: number;
  end: number;
  type: string;
  method: string;
  url: string;
  /** 0 when there was no response. */
  status: number;
  duration: number;
  error: string;
  failed: boolean;
}

export interface ErrorEntry {
  time: number;
  kind: string;
  message: string;
  stack: string;
  source: string;
  line: number;
  col: number;
}

export interface PageView {
  time: number;
  url: string;
  title: string;
  referrer: string;
  /** load, push, replace, pop, hash; "load" for a page known only from rrweb's Meta event. */
  kind: string;
}

export interface CustomEntry {
  time: number;
  tag: "track" | "identify";
  /** The event's name, or the user id for identify. */
  name: string;
  /** The props or traits, as compact JSON ("" when there are none). */
  detail: string;
}

export interface VitalEntry {
  time: number;
  name: string;
  value: number;
  rating: string;
}

export const MOMENT_KINDS = [
  "click",
  "input",
  "rage_click",
  "dead_click",
  "error_click",
  "thrashed_cursor",
  "quick_back",
  "excessive_scroll",
] as const;

export type MomentKind = (typeof MOMENT_KINDS)[number];

/** A click, an input or a frustration signal, as the server judged it (offsets from the first event). */
export interface Moment {
  time: number;
  kind: MomentKind;
  url: string;
  selector: string;
  text: string;
}

export interface Story {
  console: ConsoleEntry[];
  network: NetworkEntry[];
  errors: ErrorEntry[];
  pages: PageView[];
  custom: CustomEntry[];
  vitals: VitalEntry[];
  /** Clicks and inputs from the SDK's own events: what the timeline shows when the server's moments are missing. */
  clicks: Moment[];
}

export function text(value: unknown): string {
  let s: string;
  if (typeof value === "string") s = value;
  else if (value === null || value === undefined) s = "";
  else if (typeof value === "number" || typeof value === "boolean") s = String(value);
  else s = json(value);
  return s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}…` : s;
}

function json(value: unknown): string {
  try {
    return JSON.stringify(value) ?? "";
  } catch {
    return "";
  }
}

function num(value: unknown): number {
  const n = typeof value === "number" ? value : Number(value);
  return Number.isFinite(n) ? n : 0;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const byTime = <T extends { time: number }>(a: T, b: T): number => a.time - b.time;

/** Reads every Custom event of our SDK (and the Meta events, for pages) into lists sorted by time. */
export function readStory(events: RecordedEvent[], start: number): Story {
  const story: Story = { console: [], network: [], errors: [], pages: [], custom: [], vitals: [], clicks: [] };
  const loads: PageView[] = [];
  for (const event of events) {
    const time = event.timestamp - start;
    const data = event.data as unknown;
    if (!isObject(data)) continue;
    if (event.type === META) {
      loads.push({ time, url: text(data.href), title: "", referrer: "", kind: "load" });
      continue;
    }
    if (event.type !== CUSTOM) continue;
    const p = isObject(data.payload) ? data.payload : {};
    switch (data.tag) {
      case "page":
        story.pages.push({ time, url: text(p.url), title: text(p.title), referrer: text(p.referrer), kind: text(p.kind) || "load" });
        break;
      case "console":
        story.console.push({
          time,
          level: p.level === "warn" ? "warn" : "error",
          message: text(p.message),
          stack: text(p.stack),
        });
        break;
      case "network": {
        const status = num(p.status);
        const duration = Math.max(0, num(p.duration));
        story.network.push({
          time: Math.max(0, time - duration),
          end: time,
          type: text(p.type),
          method: (text(p.method) || "GET").toUpperCase(),
          url: text(p.url),
          status,
          duration,
          error: text(p.error),
          failed: status === 0 || status >= 400,
        });
        break;
      }
      case "error":
        story.errors.push({
          time,
          kind: text(p.kind) || "error",
          message: text(p.message) || "Unknown error",
          stack: text(p.stack),
          source: text(p.source),
          line: num(p.line),
          col: num(p.col),
        });
        break;
      case "vitals":
        story.vitals.push({ time, name: text(p.name), value: num(p.value), rating: text(p.rating) });
        break;
      case "track":
        story.custom.push({ time, tag: "track", name: text(p.name) || "(unnamed)", detail: compact(p.props) });
        break;
      case "identify":
        story.custom.push({ time, tag: "identify", name: text(p.user_id), detail: compact(p.traits) });
        break;
      case "click":
        story.clicks.push({ time, kind: "click", url: "", selector: text(p.selector), text: text(p.text) });
        break;
      case "input":
        story.clicks.push({ time, kind: "input", url: "", selector: text(p.selector), text: text(p.name) });
        break;
    }
  }
  // Sessions recorded without our page events (other clients) still have rrweb's Meta events.
  if (story.pages.length === 0) story.pages = loads;
  story.network.sort(byTime); // by start: a slow request started before a quick one that settled first
  return story;
}

/** Props or traits as short JSON; nothing for an empty object. */
function compact(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (isObject(value) && Object.keys(value).length === 0) return "";
  return text(value);
}

/** The server's moments, checked one by one: a malformed entry is dropped, not trusted. */
export function readMoments(body: unknown): Moment[] {
  if (!Array.isArray(body)) return [];
  const kinds: readonly string[] = MOMENT_KINDS;
  const moments: Moment[] = [];
  for (const m of body) {
    if (!isObject(m) || typeof m.kind !== "string" || !kinds.includes(m.kind)) continue;
    if (typeof m.offset_ms !== "number" || !Number.isFinite(m.offset_ms)) continue;
    moments.push({
      time: Math.max(0, m.offset_ms),
      kind: m.kind as MomentKind,
      url: text(m.url),
      selector: text(m.selector),
      text: text(m.text),
    });
  }
  return moments.sort(byTime);
}

/**
 * Asks for the moments (same-origin, with the dashboard's session cookie) now, and gives what reads the answer
 * later: read while the first frame is being drawn, a long session's answer (thousands of moments) would hold it
 * up. The reader throws on any failure.
 */
export function askMoments(url: string): () => Promise<Moment[]> {
  const answer = fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  answer.catch(() => undefined); // reported by the reader
  return async () => {
    const response = await answer;
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return readMoments(await response.json());
  };
}
