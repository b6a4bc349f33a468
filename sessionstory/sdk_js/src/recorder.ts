// rrweb wiring. The options are privacy-first defaults that the page opts out
// of element by element, never the other way round.

import { record } from "@rrweb/record";
import type { eventWithTime } from "@rrweb/types";
import { guard, warnOnce } from "./guard";

const FULL_SNAPSHOT = 2;

let stopRrweb: (() => void) | null = null;
/**
 * Custom events asked for before rrweb's first snapshot (calls queued by the
 * stub, or made before DOMContentLoaded, which rrweb waits for): rrweb
 * refuses them until then, so they wait here instead of being lost.
 */
let early: [string, unknown][] = [];
/** Bounds `early` should rrweb never start. */
const MAX_EARLY = 100;

export function startRecording(emit: (event: eventWithTime) => void): void {
  if (stopRrweb) return;
  const onEvent = guard((event: eventWithTime) => {
    emit(event);
    if (event.type === FULL_SNAPSHOT && early.length) setTimeout(guard(addEarly));
  });
  stopRrweb =
    record({
      emit: onEvent,
      maskAllInputs: true,
      blockClass: "ss-block",
      blockSelector: "[data-ss-block]",
      maskTextClass: "ss-mask",
      maskTextSelector: "[data-ss-mask]",
      slimDOMOptions: true,
      inlineStylesheet: true,
      sampling: { mousemove: 50, scroll: 150, input: "last" },
      checkoutEveryNms: 5 * 60e3,
      // rrweb would wait for window load (every image); visitors who leave a
      // heavy page before that would not be recorded at all. Stylesheets that
      // arrive later are still inlined by rrweb when they load.
      recordAfter: "DOMContentLoaded",
      // Canvas capture is costly and can leak what the page draws; never on.
      recordCanvas: false,
      errorHandler: () => {
        warnOnce("a recording error was ignored");
        return true;
      },
    }) || null;
}

export function stopRecording(): void {
  const stop = stopRrweb;
  stopRrweb = null;
  early = [];
  if (stop) stop();
}

/** Records an rrweb custom event (type 5), now or as soon as rrweb has started. */
export function addCustom(tag: string, payload: unknown): void {
  // Once something waits, later events queue behind it to keep their order.
  if ((early.length || !tryAdd(tag, payload)) && early.length < MAX_EARLY) {
    early.push([tag, payload]);
  }
}

function tryAdd(tag: string, payload: unknown): boolean {
  try {
    record.addCustomEvent(tag, payload);
    return true;
  } catch (_) {
    return false;
  }
}

function addEarly(): void {
  while (early.length && tryAdd(early[0][0], early[0][1])) early.shift();
}

/** A fresh full snapshot, so a session that starts mid-page can be replayed. */
export function takeSnapshot(): void {
  try {
    record.takeFullSnapshot(true);
  } catch (_) {
    // Not yet recording: rrweb takes one itself when it starts.
  }
}
