// Groups recorded events into ingest batches: one about every 2 s, sooner when
// the buffer gets big, so a request body stays far below the server's limits
// (10 MiB body, 20,000 events).

import { guard } from "./guard";
import { nextSeq, userId, visitorId, windowId } from "./ids";
import { enqueue } from "./transport";

const FLUSH_EVERY_MS = 2000;
const MAX_CHARS = 1e6;
const MAX_EVENTS = 1000;

let key = "";
let events: string[] = [];
let chars = 0;
let timer: ReturnType<typeof setTimeout> | 0 = 0;

export function setKey(publicKey: string): void {
  key = publicKey;
}

/** Takes one event already serialized to JSON. */
export function addEvent(json: string): void {
  events.push(json);
  chars += json.length;
  if (events.length >= MAX_EVENTS || chars >= MAX_CHARS) seal();
  // The timer only runs while something is buffered: an idle page costs nothing.
  else if (!timer) timer = setTimeout(guard(seal), FLUSH_EVERY_MS);
}

/** Turns the buffered events into a numbered batch and queues it for sending. */
export function seal(): void {
  clearTimeout(timer);
  timer = 0;
  if (!events.length) return;
  const { sessionId, seq } = nextSeq();
  const head: Record<string, string | number> = {
    key,
    session_id: sessionId,
    visitor_id: visitorId(),
    window_id: windowId(),
    seq,
  };
  const user = userId();
  if (user) head.user_id = user;
  // Events were serialized once, as recorded; splicing them in avoids a second pass.
  const body = JSON.stringify(head).slice(0, -1) + ',"events":[' + events.join(",") + "]}";
  discard();
  enqueue(body);
}

/** Forgets buffered events (consent withdrawn). */
export function discard(): void {
  clearTimeout(timer);
  timer = 0;
  events = [];
  chars = 0;
}
