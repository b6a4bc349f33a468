// Delivers finished batch bodies to the ingest endpoint, in order, one request
// at a time. A batch leaves the queue only when the server acknowledged it,
// refused it for good, or it was handed to the browser as the page was left.
// Re-sending a batch is always safe: the server stores a (session_id, seq) once.

import { warnOnce, guard } from "./guard";
import { tabStore } from "./storage";

const PENDING_KEY = "sessionstory.pending";
/** Unacknowledged batches written at pagehide for the next page load to resend. */
const PERSIST_MAX_CHARS = 2e6;
/** Memory held while the server is unreachable; newer batches are dropped beyond it. */
const QUEUE_MAX_CHARS = 8e6;
const BEACON_MAX_BYTES = 60e3;
/** Browsers allow 64 KiB of keepalive bodies in flight per page, beacons included. */
const KEEPALIVE_MAX_BYTES = 64e3;
const MAX_RETRY_AFTER_MS = 10 * 60e3;

interface Batch {
  body: string;
  /** Compressed body once computed; null where the browser can't compress. */
  gz?: ArrayBuffer | null;
  /** Enqueue order, so flush() can wait for "everything up to here". */
  ticket: number;
  busy?: boolean;
}

let url = "";
let queue: Batch[] = [];
let queuedChars = 0;
let tickets = 0;
let waiters: { ticket: number; resolve: () => void }[] = [];
let retryTimer: ReturnType<typeof setTimeout> | 0 = 0;
let failures = 0;
let persisted = false;

export function setEndpoint(ingestUrl: string): void {
  url = ingestUrl;
  // Backoff can reach 30 s; don't sit on data once the network is back.
  addEventListener("online", guard(retryNow));
}

export function enqueue(body: string): void {
  if (queuedChars + body.length > QUEUE_MAX_CHARS) {
    warnOnce("ingest unreachable for too long; dropping recorded data");
    return;
  }
  queue.push({ body, ticket: ++tickets });
  queuedChars += body.length;
  pump();
}

/** Resolves once every batch enqueued so far is acknowledged, dropped or handed off. */
export function whenSent(): Promise<void> {
  const last = queue[queue.length - 1];
  if (!last) return Promise.resolve();
  return new Promise((resolve) => waiters.push({ ticket: last.ticket, resolve }));
}

/** Forgets everything unsent (consent withdrawn). */
export function dropAll(): void {
  queue = [];
  queuedChars = 0;
  clearTimeout(retryTimer);
  retryTimer = 0;
  failures = 0;
  tabStore.remove(PENDING_KEY);
  persisted = false;
  releaseWaiters();
}

function releaseWaiters(): void {
  const head = queue.length ? queue[0].ticket : Infinity;
  const still: typeof waiters = [];
  for (const w of waiters) {
    if (w.ticket < head) w.resolve();
    else still.push(w);
  }
  waiters = still;
}

function settle(b: Batch): void {
  const i = queue.indexOf(b);
  if (i < 0) return;
  queue.splice(i, 1);
  queuedChars -= b.body.length;
  releaseWaiters();
}

function retryNow(): void {
  if (!retryTimer) return;
  clearTimeout(retryTimer);
  retryTimer = 0;
  pump();
}

function pump(): void {
  if (retryTimer || !queue.length || queue.some((b) => b.busy)) return;
  send(queue[0], false);
}

function send(b: Batch, leaving: boolean): void {
  b.busy = true;
  post(b, leaving).then(
    guard((retryIn: number | null) => {
      b.busy = false;
      if (retryIn === null) {
        settle(b);
        // Everything is acknowledged: the copy saved at pagehide is stale now.
        if (!queue.length && persisted) {
          tabStore.remove(PENDING_KEY);
          persisted = false;
        }
      } else if (!retryTimer && queue.indexOf(b) >= 0) {
        retryTimer = setTimeout(guard(() => {
          retryTimer = 0;
          pump();
        }), retryIn);
      }
      pump();
    }),
  );
}

/** Resolves with null when the batch is done with, or the delay before retrying it. */
async function post(b: Batch, leaving: boolean): Promise<number | null> {
  try {
    // Compressing is async (off the main thread); at pagehide there is no time for it.
    if (!leaving && b.gz === undefined) b.gz = await gzip(b.body);
    // Beaconed while compressing (the page was being left): don't send it twice.
    if (queue.indexOf(b) < 0) return null;
    const headers: Record<string, string> = leaving
      ? // A "simple" request skips the CORS preflight; the server sniffs gzip bytes.
        { "Content-Type": "text/plain;charset=UTF-8" }
      : b.gz
        ? { "Content-Type": "application/json", "Content-Encoding": "gzip" }
        : { "Content-Type": "application/json" };
    const res = await fetch(url, {
      method: "POST",
      body: b.gz || b.body,
      headers,
      credentials: "omit",
    });
    return verdict(res);
  } catch (_) {
    return backoff();
  }
}

function verdict(res: Response): number | null {
  const status = res.status;
  if (status >= 200 && status < 300) {
    failures = 0;
    return null;
  }
  if (status === 408 || status === 429 || status >= 500) {
    const wait = backoff();
    const asked = status === 429 || status === 503 ? retryAfterMs(res) : 0;
    return Math.max(wait, asked);
  }
  // 400, 401, 403, 413...: the same bytes would be refused again.
  failures = 0;
  warnOnce(`ingest refused a batch (HTTP ${status}); it was dropped`);
  return null;
}

function retryAfterMs(res: Response): number {
  // Readable cross-origin only if the server lists it in Access-Control-Expose-Headers.
  const value = res.headers.get("Retry-After");
  if (!value) return 0;
  const seconds = Number(value);
  const ms = isNaN(seconds) ? Date.parse(value) - Date.now() : seconds * 1000;
  return ms > 0 ? Math.min(ms, MAX_RETRY_AFTER_MS) : 0;
}

function backoff(): number {
  const base = Math.min(30e3, 1e3 * 2 ** failures++);
  // Jitter keeps many tabs of one site from retrying in lockstep after an outage.
  return base * (0.75 + Math.random() / 2);
}

async function gzip(text: string): Promise<ArrayBuffer | null> {
  if (typeof CompressionStream !== "function") return null;
  try {
    const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
    return await new Response(stream).arrayBuffer();
  } catch (_) {
    return null;
  }
}

/**
 * The page is going away (or hidden, and may never come back): hand every
 * queued batch to the browser now, and keep a copy for the next page load of
 * this tab in case the requests die with the page.
 */
export function sendBeforeLeaving(): void {
  persist();
  for (const b of queue.slice()) {
    const blob = new Blob([b.gz || b.body], { type: "text/plain;charset=UTF-8" });
    if (
      (blob.size < BEACON_MAX_BYTES && beacon(blob)) ||
      (blob.size < KEEPALIVE_MAX_BYTES && keepalive(blob))
    ) {
      // Counts as sent: its seq is used, so numbering never goes back.
      settle(b);
    } else if (!b.busy) {
      send(b, true);
    }
  }
}

function beacon(blob: Blob): boolean {
  try {
    return !!navigator.sendBeacon && navigator.sendBeacon(url, blob);
  } catch (_) {
    return false;
  }
}

function keepalive(blob: Blob): boolean {
  try {
    fetch(url, { method: "POST", body: blob, keepalive: true, credentials: "omit" }).catch(
      () => undefined,
    );
    return true;
  } catch (_) {
    return false;
  }
}

function persist(): void {
  const bodies: string[] = [];
  let chars = 0;
  for (const b of queue) {
    if (chars + b.body.length > PERSIST_MAX_CHARS) continue;
    bodies.push(b.body);
    chars += b.body.length;
  }
  if (bodies.length) tabStore.set(PENDING_KEY, JSON.stringify(bodies));
  else tabStore.remove(PENDING_KEY);
  persisted = bodies.length > 0;
}

/** Re-queues what the previous page of this tab could not get acknowledged. */
export function restorePending(): void {
  let bodies: unknown = null;
  try {
    bodies = JSON.parse(tabStore.get(PENDING_KEY) || "null");
  } catch (_) {
    /* corrupt: nothing to resend */
  }
  tabStore.remove(PENDING_KEY);
  if (Array.isArray(bodies)) {
    for (const body of bodies) if (typeof body === "string") enqueue(body);
  }
}
