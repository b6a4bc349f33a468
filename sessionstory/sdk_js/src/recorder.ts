// rrweb wiring. The options are privacy-first defaults that the page opts out
// of element by element, never the other way round.

import { record } from "@rrweb/record";
import type { eventWithTime } from "@rrweb/types";
import { attempt, guard, warnOnce } from "./guard";
import { maskEvent, type Privacy } from "./privacy";

/**
 * The page's own mask attribute; the project's selectors are added to it. Its class, `ss-mask`, is rrweb's
 * maskTextClass, which rrweb tests first: repeated here it would be matched again on every ancestor of every
 * text node rrweb serializes (`closest` with the list costs 1.4 times `closest` with the attribute alone).
 */
const MASK = "[data-ss-mask]";
/** What `strict` blocks: images and media (recorded as empty boxes of their size). */
const MEDIA = "img,picture,video,audio,canvas,svg image,object,embed";

let stopRrweb: (() => void) | undefined;
/**
 * Custom events asked for before rrweb's first snapshot (calls queued by the
 * stub, or made before DOMContentLoaded, which rrweb waits for): rrweb
 * refuses them until then, so they wait here instead of being lost.
 */
let early: [tag: string, payload: unknown][] = [];

export const startRecording = (emit: (event: eventWithTime) => void, privacy: Privacy): void => {
  const { level } = privacy;
  const strict = level == "strict";
  const masking = level != "relaxed";
  const masked = [MASK, ...privacy.mask].join();
  stopRrweb ||= record({
    emit: guard((event: eventWithTime) => {
      if (masking) maskEvent(event, strict);
      emit(event);
      // Type 2: the full snapshot, after which rrweb takes custom events.
      if (event.type == 2 && early[0]) setTimeout(guard(addEarly));
    }),
    maskAllInputs: true,
    blockClass: "ss-block",
    blockSelector: ["[data-ss-block]", ...privacy.block, ...(strict ? [MEDIA] : [])].join(),
    ignoreSelector: privacy.ignore.join() || undefined,
    maskTextClass: "ss-mask",
    // rrweb masks text whole (each non-space character as "*", as `stars` does) where the page or
    // the project says so, and all of it in strict; maskEvent masks the personal data in the rest.
    maskTextSelector: strict ? "*" : masked,
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
      warnOnce("recording error ignored");
      return true;
    },
  });
};

export const stopRecording = (): void => {
  const stop = stopRrweb;
  stopRrweb = undefined;
  early = [];
  stop?.();
};

/** True if rrweb took it (it throws until it has started). */
const tryAdd = (custom: [string, unknown]) => attempt(() => (record.addCustomEvent(...custom), true));

/** Records an rrweb custom event (type 5), now or as soon as rrweb has started. */
export const addCustom = (tag: string, payload: unknown): void => {
  // Once something waits, later events queue behind it to keep their order.
  // At most 100 wait, should rrweb never start.
  if ((early[0] || !tryAdd([tag, payload])) && early.length < 100) early.push([tag, payload]);
};

const addEarly = (): void => {
  while (early[0] && tryAdd(early[0])) early.shift();
};

/** A fresh full snapshot, so a session that starts mid-page can be replayed (before rrweb has started, it takes one itself). */
export const takeSnapshot = (): unknown => attempt(() => record.takeFullSnapshot(true));
