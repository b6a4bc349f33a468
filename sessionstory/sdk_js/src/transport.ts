// Delivers finished batch bodies to the ingest endpoint, in order, one request
// at a time. A batch leaves the queue only when the server acknowledged it,
// refused it for good, or it was handed to the browser as the page was left.
// Re-sending a batch is always safe: the server stores a (session_id, seq) once.

import { attempt, guard, warnOnce } from "./guard";
import { tabJson, tabStore } from "./storage";

/** Where unacknowledged batches are written at pagehide for the next page load to resend. */
const PENDING = "pending";
/** A "simple" content type: no CORS preflight (the server sniffs gzip bytes). */
const TEXT = "text/plain;charset=UTF-8";

interface Batch {
  body: string;
  /** Compressed body once computed; false where the browser can't compress. */
  gz?: ArrayBuffer | false;
  busy?: boolean;
}

let url = "";
/**
 * In enqueue order. Never changed in place, always replaced: each array is a
 * snapshot that flush() can wait on.
 */
let queue: Batch[] = [];
/** flush() calls, each waiting for every batch of a snapshot of the queue to be done with. */
let waiters: [batches: Batch[], resolve: () => void][] = [];
let retryTimer: ReturnType<typeof setTimeout> | 0 = 0;
let failures = 0;
/** The server says someone is watching this session live: batches go out sooner (see batch.ts). */
export let watched = false;

/** Called when the server starts saying that someone watches this session live. */
let onWatched = (): void => {};
/** Called at the first acknowledgement after data was lost. */
let onResync = (): void => {};
/** A batch was dropped or refused since the last acknowledged one. */
let lost = false;

/**
 * Starts sending to `ingestUrl`, beginning with what the previous page of this tab could not get
 * acknowledged; `resync` runs once a batch is acknowledged again after one was lost.
 */
export const startTransport = (ingestUrl: string, watchedNow: () => void, resync: () => void): void => {
  url = ingestUrl;
  onWatched = watchedNow;
  onResync = resync;
  // Backoff can reach 30 s; don't sit on data once the network is back.
  addEventListener("online", guard(retry));
  const bodies = tabJson(PENDING);
  tabStore.set(PENDING);
  if (Array.isArray(bodies)) for (const body of bodies) if (typeof body == "string") enqueue(body);
};

export const enqueue = (body: string): void => {
  // Memory held while the server is unreachable: newer batches are dropped beyond 8e6 characters.
  if (queue.reduce((chars, b) => chars + b.body.length, body.length) > 8e6) {
    lost = true;
    warnOnce("dropping data: ingest unreachable");
  } else {
    queue = [...queue, { body }];
    pump();
  }
};

/** Resolves once every batch enqueued so far is acknowledged, dropped or handed off. */
export const whenSent = (): Promise<void> =>
  new Promise((resolve) => {
    waiters.push([queue, resolve]);
    release();
  });

/** Forgets everything unsent (consent withdrawn). */
export const dropAll = (): void => {
  queue = [];
  failures = 0;
  persist(); // clears the saved copy
  retry(); // clears the retry timer; there is nothing left to send
  release();
};

const release = (): void => {
  // resolve() returns undefined: a resolved waiter is filtered out.
  waiters = waiters.filter(([batches, resolve]) => batches.some((b) => queue.includes(b)) || resolve());
};

const settle = (b: Batch): void => {
  queue = queue.filter((other) => other != b);
  release();
};

/** Sends now what waits for a retry: its timer fired, or the network is back. */
const retry = (): void => {
  clearTimeout(retryTimer);
  retryTimer = 0;
  pump();
};

const pump = (): void => {
  if (!retryTimer && queue[0] && !queue.some((b) => b.busy)) send(queue[0]);
};

const send = (b: Batch, leaving?: boolean): void => {
  b.busy = true;
  post(b, leaving).then(
    guard((retryIn?: number) => {
      b.busy = false;
      if (retryIn == null) {
        settle(b);
        // Everything is acknowledged: a copy saved at pagehide is stale now
        // (removing one that isn't there costs nothing).
        if (!queue[0]) persist();
      } else if (!retryTimer && queue.includes(b)) {
        retryTimer = setTimeout(guard(retry), retryIn);
      }
      pump();
    }),
  );
};

/** The page's fetch as it was before capture wrapped it: the SDK's own requests are not the page's to record. */
const pageFetch = window.fetch;

const request = (body: BodyInit, init: RequestInit) =>
  pageFetch(url, { method: "POST", body, credentials: "omit", ...init });

/** `body` gzipped (in the worker where there is one); false where the browser can't (no CompressionStream). */
const gzipHere = (body: string): Promise<ArrayBuffer | false> =>
  attempt(() =>
    new Response(new Blob([body]).stream().pipeThrough(new CompressionStream("gzip")))
      .arrayBuffer()
      .catch(() => false as const),
  ) || Promise.resolve(false);

/**
 * The worker's whole program, started from its source text: it must use nothing from the
 * SDK's scope. Encoding a batch to bytes and compressing it were the SDK's second largest cost
 * on the page's main thread after serializing events (bench/sdk.py's page: 160 ms of profile
 * samples in transport against rrweb's 2,350; 35 ms since).
 */
const workerMain = () => {
  onmessage = (e: MessageEvent<[number, string]>) =>
    new Response(new Blob([e.data[1]]).stream().pipeThrough(new CompressionStream("gzip")))
      .arrayBuffer()
      .then(
        (gz) => postMessage([e.data[0], gz], [gz] as any),
        () => postMessage([e.data[0], false]),
      );
};

/** The compressing worker; false once it can't be used (a CSP without blob: workers, say): compressing here then. */
let worker: Worker | false | undefined;
/** Compressions the worker has not answered yet, by request number. */
const waiting = new Map<number, [body: string, resolve: (gz: ArrayBuffer | false) => void]>();
let requests = 0;

/** Settles a compression with the worker's answer, or (none given) by compressing here. */
const answer = (id: number, gz?: ArrayBuffer | false): void => {
  const [body, resolve] = waiting.get(id) || [];
  if (!resolve) return;
  waiting.delete(id);
  if (gz === undefined) gzipHere(body!).then(resolve);
  else resolve(gz);
};

const startWorker = (): Worker | false =>
  attempt(() => {
    const w = new Worker(URL.createObjectURL(new Blob([`(${workerMain})()`], { type: "text/javascript" })));
    w.onmessage = guard((e: MessageEvent<[number, ArrayBuffer | false]>) => answer(...e.data));
    w.onerror = guard(() => {
      worker = false;
      waiting.forEach((_, id) => answer(id));
    });
    return w;
  }) || false;

const gzip = (body: string): Promise<ArrayBuffer | false> => {
  worker ??= startWorker();
  if (!worker) return gzipHere(body);
  const w = worker;
  return new Promise((resolve) => {
    const id = ++requests;
    waiting.set(id, [body, resolve]);
    // A worker that never answers (nor errs) must not hold the queue.
    setTimeout(guard(answer), 5e3, id);
    w.postMessage([id, body]);
  });
};

/** Resolves with undefined when the batch is done with, or the delay before retrying it. */
const post = async (b: Batch, leaving?: boolean): Promise<number | undefined> => {
  try {
    // Compressing is async (in a worker); at pagehide there is no time for it.
    if (!leaving) b.gz ??= await gzip(b.body);
    // Beaconed while compressing (the page was being left): don't send it twice.
    if (!queue.includes(b)) return;
    const res = await request(b.gz || b.body, {
      headers: {
        "Content-Type": leaving ? TEXT : "application/json",
        ...(b.gz && !leaving && { "Content-Encoding": "gzip" }),
      },
    });
    const status = res.status;
    if (status == 408 || status == 429 || status >= 500) {
      // Readable cross-origin only if the server lists it in Access-Control-Expose-Headers.
      const retryAfter: any = status == 429 || status == 503 ? res.headers.get("Retry-After") : null;
      // Seconds (none without the header), else an HTTP date.
      const asked = +retryAfter >= 0 ? retryAfter * 1e3 : Date.parse(retryAfter) - Date.now();
      // At most 10 minutes; a date in the past or an unreadable one asks for nothing.
      return Math.max(backoff(), Math.min(asked, 6e5) || 0);
    }
    failures = 0;
    // 400, 401, 403, 413...: the same bytes would be refused again.
    if (status > 299) {
      lost = true;
      warnOnce(`dropping data: ingest refused a batch (HTTP ${status})`);
    } else {
      // Only now: a snapshot taken while batches are refused (a wrong key, say) would be refused too.
      if (lost) {
        lost = false;
        onResync();
      }
      const before = watched;
      watched = (await res.json().catch(() => 0)).watched == true;
      if (watched && !before) onWatched();
    }
  } catch (_) {
    return backoff();
  }
};

/** Jitter keeps many tabs of one site from retrying in lockstep after an outage. */
const backoff = (): number => Math.min(30e3, 1e3 * 2 ** failures++) * (0.75 + Math.random() / 2);

/**
 * The page is going away (or hidden, and may never come back): hand every
 * queued batch to the browser now, and keep a copy for the next page load of
 * this tab in case the requests die with the page.
 */
export const sendBeforeLeaving = (): void => {
  persist();
  for (const b of queue) {
    const blob = new Blob([b.gz || b.body], { type: TEXT });
    // Browsers allow 64 KiB of keepalive bodies in flight per page, beacons included.
    if (
      (blob.size < 6e4 && attempt(() => navigator.sendBeacon(url, blob))) ||
      (blob.size < 64e3 && attempt(() => request(blob, { keepalive: true }).catch(() => 0)))
    ) {
      // Handed to the browser (fetch's promise is truthy): counts as sent. Its
      // seq is used, so numbering never goes back.
      settle(b);
    } else if (!b.busy) {
      send(b, true);
    }
  }
};

/** Saves the queue (what fits of 2e6 characters) for the next page load of this tab; nothing when it is empty. */
const persist = (): void => {
  let chars = 0;
  // `chars += ...` is a positive count: kept.
  const bodies = queue.map((b) => b.body).filter((body) => chars + body.length <= 2e6 && (chars += body.length));
  tabStore.set(PENDING, bodies[0] && JSON.stringify(bodies));
};

