// Delivers finished batch bodies to the ingest endpoint, in order, one request
// at a time. A batch leaves the queue only when the server acknowledged it,
// refused it for good, or it was handed to the browser as the page was left.
// Re-sending a batch is always safe: the server stores a (session_id, seq) once;
// but each batch has one owner at a time (Batch.owner), so no path sends one
// another path is sending.

import { attempt, guard, warnOnce } from "./guard";
import { tabJson, tabStore } from "./storage";

/** Where unacknowledged batches are written at pagehide for the next page load to resend. */
const PENDING = "pending";
/** A "simple" content type: no CORS preflight (the server sniffs gzip bytes). */
const TEXT = "text/plain;charset=UTF-8";

/** A batch's request is out (the worker's or the page's): that request alone answers for it. */
const SENT = "sent";
/** The page compresses a batch itself, to send it once compressed (unless it was beaconed meanwhile). */
const PAGE = "page";

interface Batch {
  body: string;
  /** Compressed body once computed; false where the browser can't compress. */
  gz?: ArrayBuffer | false;
  /**
   * Who delivers it now. Nobody (undefined): it waits its turn, and at pagehide the page beacons it.
   * A job number: the worker holds it and has not been told to send it; the page may take it back.
   * PAGE: the page compresses it. SENT: its request is out, and pagehide leaves it be.
   */
  owner?: number | typeof PAGE | typeof SENT;
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
/** The page was left (pagehide) and has not come back from the back/forward cache. */
let gone = false;
/** Batches whose request failed while the page was gone: sent again if it comes back. */
let diedLeaving: Batch[] = [];
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
  // What the worker holds is not sent either (it asks first, and hears no).
  jobs.forEach(([, resolve]) => resolve(undefined));
  jobs.clear();
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
  if (!retryTimer && queue[0] && !queue.some((b) => b.owner)) send(queue[0]);
};

const send = (b: Batch, leaving?: boolean): void => {
  post(b, leaving).then(
    guard((retryIn?: number) => {
      // Failed as the page went (its requests die with it): the copy kept for the next page load resends it.
      // It stays SENT and queued, so a later leave() neither beacons it nor drops it from that copy.
      if (gone && retryIn != null) return void diedLeaving.push(b);
      b.owner = undefined;
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

/** What the server answered a batch: its status, Retry-After (asked for with 429 and 503), whether someone watches live. */
type Reply = [status: number, retryAfter: string | null, watched: boolean];
/** A batch's fate: the server's reply; 0, the network failed; undefined, nothing was sent (it was beaconed meanwhile). */
type Outcome = Reply | 0 | undefined;

/** The headers of a batch sent while the page stays (at pagehide it goes uncompressed, as text/plain). */
const headers = (gzipped: unknown) => ({ "Content-Type": "application/json", ...(gzipped && { "Content-Encoding": "gzip" }) });

/**
 * The server's answer, read. The worker runs it too, from its source text: it must use nothing from the SDK's scope.
 * Retry-After is readable cross-origin only if the server lists it in Access-Control-Expose-Headers.
 */
const readReply = async (res: Response): Promise<Reply> => [
  res.status,
  res.status == 429 || res.status == 503 ? res.headers.get("Retry-After") : null,
  res.ok && (await res.json().catch(() => 0)).watched == true,
];

/** `body` gzipped, or false. The worker runs it too: it must use nothing from the SDK's scope. */
const compress = (body: string): Promise<ArrayBuffer | false> =>
  new Response(new Blob([body]).stream().pipeThrough(new CompressionStream("gzip")))
    .arrayBuffer()
    .catch(() => false as const);

/** `body` gzipped; false where the browser can't (no CompressionStream). */
const gzipHere = (body: string): Promise<ArrayBuffer | false> =>
  attempt(() => compress(body)) || Promise.resolve(false);

/** Sends a batch from the page's main thread: where there is no worker, or it failed us, or the page is being left. */
const sendHere = (b: Batch, body: BodyInit, init: RequestInit): Promise<Reply | 0> => {
  b.owner = SENT;
  return request(body, init).then(readReply, () => 0);
};

/** Sends a batch as it is, uncompressed: at pagehide there is no time for compressing, nor for a worker. */
const sendLeaving = (b: Batch) => sendHere(b, b.body, { headers: { "Content-Type": TEXT } });

/** Compresses and sends a batch from the page's main thread. */
const deliverHere = async (b: Batch): Promise<Outcome> => {
  b.owner = PAGE;
  b.gz ??= await gzipHere(b.body);
  // Beaconed while compressing (the page was being left): don't send it twice.
  if (queue.includes(b)) return sendHere(b, b.gz || b.body, { headers: headers(b.gz) });
};

/**
 * The worker's whole program, started from its source text: it must use nothing from the SDK's scope but
 * what it is given. It compresses a batch (a job), hands the page a copy of the compressed bytes and asks
 * whether to send it; the page says yes unless it took the job back meanwhile (it was left, or the worker
 * stalled), and only then does the worker send it, and hand the page the server's reply. So a batch is never
 * sent by both. Encoding and compressing a batch were the SDK's second largest cost on the page's main thread
 * after serializing events (bench/sdk.py's page: 160 ms of profile samples in transport against rrweb's 2,350;
 * 35 ms since); the request was the largest of what was left (about 1.5 % of the recorder's samples; none since).
 */
const workerMain = (gzip: typeof compress, read: typeof readReply, head: typeof headers) => {
  /** The page's answers to come, by job: whether to send it. */
  const answers = new Map<number, (send: boolean) => void>();
  onmessage = async (e: MessageEvent<[number, string | boolean, string?]>) => {
    const [id, body, to] = e.data;
    if (!to) return void (answers.get(id)!(body as boolean), answers.delete(id));
    const gz = await gzip(body as string);
    const copy = gz && gz.slice(0);
    const answer = new Promise<boolean>((resolve) => answers.set(id, resolve));
    postMessage([id, copy], (copy ? [copy] : []) as any);
    if (!(await answer)) return;
    const init: RequestInit = { method: "POST", body: gz || body, credentials: "omit", headers: head(gz) };
    postMessage([id, false, await fetch(to, init).then(read, () => 0)]);
  };
};

/** The worker; false once it can't be used (a CSP without blob: workers, say): batches go from the page then. */
let worker: Worker | false | undefined;
/** Batches given to the worker, by job number, until it answers for them or the page takes them back. */
const jobs = new Map<number, [b: Batch, resolve: (outcome: Outcome | Promise<Outcome>) => void]>();
let jobCount = 0;

/**
 * The worker's word on a job: it has compressed it and asks whether to send it (`reply` undefined; the answer is
 * returned), or the server's reply. Yes, unless the page took the job back (pagehide, a stall) or forgot it
 * (consent withdrawn); from the yes on, the worker's request answers for the batch.
 */
const heard = (id: number, gz: ArrayBuffer | false, reply?: Reply | 0): boolean | void => {
  const job = jobs.get(id);
  if (reply === undefined) {
    if (!job) return false;
    job[0].gz = gz;
    job[0].owner = SENT;
    return true;
  }
  if (job) {
    jobs.delete(id);
    job[1](reply);
  }
};

/** The page takes a job back from the worker, unless the worker was told to send it: `instead` is its outcome now. */
const takeBack = (id: number, instead: (b: Batch) => Outcome | Promise<Outcome>): void => {
  const job = jobs.get(id);
  if (job && job[0].owner == id) {
    jobs.delete(id);
    job[1](instead(job[0]));
  }
};

const startWorker = (): Worker | false =>
  attempt(() => {
    const source = `(${workerMain})(${compress},${readReply},${headers})`;
    const w = new Worker(URL.createObjectURL(new Blob([source], { type: "text/javascript" })));
    w.onmessage = guard((e: MessageEvent<[number, ArrayBuffer | false, (Reply | 0)?]>) => {
      const send = heard(...e.data);
      if (send != null) w.postMessage([e.data[0], send]);
    });
    // It could not start (a CSP without blob: workers): it sent nothing.
    w.onerror = guard(() => {
      worker = false;
      jobs.forEach((_, id) => takeBack(id, deliverHere));
    });
    return w;
  }) || false;

const deliver = (b: Batch): Promise<Outcome> => {
  worker ??= startWorker();
  if (!worker) return deliverHere(b);
  const w = worker;
  return new Promise((resolve) => {
    const id = (b.owner = ++jobCount);
    jobs.set(id, [b, resolve]);
    // A worker that never answers (nor errs) must not hold the queue; one that is sending may take long.
    setTimeout(guard(takeBack), 5e3, id, deliverHere);
    w.postMessage([id, b.body, url]);
  });
};

/** Resolves with undefined when the batch is done with, or the delay before retrying it. */
const post = async (b: Batch, leaving?: boolean): Promise<number | undefined> => {
  let reply: Outcome;
  try {
    reply = await (leaving ? sendLeaving(b) : deliver(b));
  } catch (_) {
    reply = 0;
  }
  if (reply === 0) return backoff();
  if (!reply) return;
  const [status, retryAfter] = reply as [number, any, boolean];
  if (status == 408 || status == 429 || status >= 500) {
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
    watched = reply[2];
    if (watched && !before) onWatched();
  }
};

/** Jitter keeps many tabs of one site from retrying in lockstep after an outage. */
const backoff = (): number => Math.min(30e3, 1e3 * 2 ** failures++) * (0.75 + Math.random() / 2);

/**
 * The page is going away (`left`: pagehide), or hidden and may never come back: hand every queued
 * batch to the browser now, and keep a copy for the next page load of this tab in case the requests
 * die with the page. A batch whose request is out is left to it: sending it again would only double it.
 */
export const sendBeforeLeaving = (left?: boolean): void => {
  gone ||= !!left;
  persist();
  for (const b of queue) {
    if (b.owner == SENT) continue;
    const blob = new Blob([b.gz || b.body], { type: TEXT });
    // Browsers allow 64 KiB of keepalive bodies in flight per page, beacons included.
    const handed =
      (blob.size < 6e4 && attempt(() => navigator.sendBeacon(url, blob))) ||
      (blob.size < 64e3 && attempt(() => request(blob, { keepalive: true }).catch(() => 0)));
    // Handed to the browser (fetch's promise is truthy): counts as sent. Its
    // seq is used, so numbering never goes back.
    if (handed) settle(b);
    // The worker holds it, unsent: the page takes it (the worker hears no when it asks).
    if (typeof b.owner == "number") takeBack(b.owner, () => (handed ? undefined : sendLeaving(b)));
    else if (!handed && !b.owner) send(b, true);
  }
};

/** Saves the queue (what fits of 2e6 characters) for the next page load of this tab; nothing when it is empty. */
const persist = (): void => {
  let chars = 0;
  // `chars += ...` is a positive count: kept.
  const bodies = queue.map((b) => b.body).filter((body) => chars + body.length <= 2e6 && (chars += body.length));
  tabStore.set(PENDING, bodies[0] && JSON.stringify(bodies));
};

/** The page is back from the back/forward cache: what failed while it was gone is sent again. */
export const comeBack = (): void => {
  gone = false;
  for (const b of diedLeaving) b.owner = undefined;
  diedLeaving = [];
  pump();
};
