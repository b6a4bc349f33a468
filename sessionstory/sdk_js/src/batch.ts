// Groups recorded events into ingest batches: one about every 2 s (every 250 ms
// while someone watches the session live), sooner when the buffer gets big, so a request body stays far below the server's limits
// (10 MiB body, 20,000 events).

import { attempt, guard } from "./guard";
import { batchHead } from "./ids";
import { enqueue, startTransport, watched } from "./transport";

const PACE_MS = 2000;
const LIVE_PACE_MS = 250;

let key = "";
/** Events already serialized to JSON. */
let events: string[] = [];
let chars = 0;
let timer: ReturnType<typeof setTimeout> | 0 = 0;

/** Batches go under `publicKey` to `ingestUrl`; `resync` runs once a batch gets through after data was lost. */
export const startBatches = (publicKey: string, ingestUrl: string, resync: () => void): void => {
  key = publicKey;
  startTransport(ingestUrl, hurry, resync);
};

/** Someone started watching: what is buffered goes out at the live pace rather than the normal one. */
const hurry = (): void => {
  if (timer) {
    clearTimeout(timer);
    timer = setTimeout(guard(seal), LIVE_PACE_MS);
  }
};

export const addEvent = (event: unknown): void => {
  // Serialized once, as recorded (a circular object in track() props can't be: dropped).
  const json = attempt(() => JSON.stringify(event));
  if (!json) return;
  events.push(json);
  chars += json.length;
  if (events.length >= 1000 || chars >= 1e6) seal();
  // The timer only runs while something is buffered: an idle page costs nothing.
  else timer ||= setTimeout(guard(seal), watched ? LIVE_PACE_MS : PACE_MS);
};

/** Turns the buffered events into a numbered batch and queues it for sending. */
export const seal = (): void => {
  // The events are spliced into the head's JSON: no second serialization pass.
  const body = events.length && JSON.stringify(batchHead(key)).slice(0, -1) + ',"events":[' + events.join() + "]}";
  discard();
  if (body) enqueue(body);
};

/** Forgets buffered events (also: consent withdrawn). */
export const discard = (): void => {
  clearTimeout(timer);
  timer = 0;
  events = [];
  chars = 0;
};
