// Starting the recorder: the same for the script tag (index.ts) and for bundlers (esm.ts).
// It records the page with rrweb and ships batches to {PUBLIC_URL}/api/v1/ingest.

import type { eventWithTime } from "@rrweb/types";
// rrweb (through the recorder) first: the bundle compresses a little better with
// it ahead of our own code.
import { addCustom, startRecording, stopRecording, takeSnapshot } from "./recorder";
import { type Api, installApi } from "./api";
import { addEvent, discard, seal, startBatches } from "./batch";
import { installCapture } from "./capture";
import { masked } from "./capture/clicks";
import type { Config } from "./config";
import { guard, warnOnce } from "./guard";
import { current, releaseTab, renewIfIdle, returnToTab, setUserId, tabReleased } from "./ids";
import { loadPrivacy, maskDeep, optedOut, type Privacy, sampled, stars, urlBlocked } from "./privacy";
import { comeBack, dropAll, sendBeforeLeaving, whenSent } from "./transport";

/** Recording happens while both hold: start()/stop() set one, consent() the other. */
let wanted = true;
let consented = true;
let recording = false;
/** The page is back from the back/forward cache and waits for its tab's storage before recording again (see restored). */
let restoring = false;
/** The project's privacy settings; nothing is recorded until they are known (or known to be unknowable). */
let privacy: Privacy | undefined;
/** Sends the page event of this page load (once), or (`restored` true) of the page back from the back/forward cache. */
let sendPageView: ((restored?: boolean) => void) | undefined;

/**
 * Whether this page may be recorded under the project's settings: not when the visitor
 * asks not to be tracked (if the project honours it), not on a page a URL rule covers,
 * not in a session left out by sampling (decided once per session, from its id).
 */
const allowed = (p: Privacy): boolean =>
  !(p.dnt && optedOut()) && !urlBlocked(p.urls, location.href) && sampled(current().id, p.sample);

const onEvent = (event: eventWithTime): void => {
  const now = Date.now();
  // A session must open with a full snapshot to be replayable. rrweb's start
  // begins with Meta (type 4) and brings one; any other event asks for one.
  // What the old session still buffered goes out under its own id first.
  if (renewIfIdle(now, seal)) {
    // A new session is sampled anew; stopping rrweb from inside its own emit waits a tick.
    if (!allowed(privacy!)) return void setTimeout(guard(sync));
    if (event.type != 4) {
      takeSnapshot();
      if (event.type == 3) return; // incremental: the snapshot supersedes it
    }
  }
  current().at = now; // activity
  addEvent(event);
};

/** Starts or stops recording to match what is wanted and allowed; `navigated`: the URL just changed (SPA). */
const sync = (navigated?: unknown): void => {
  // In this order: nothing touches storage (the session id) before consent.
  const should = !restoring && wanted && consented && !!privacy && allowed(privacy);
  if (should == recording) return;
  recording = should;
  if (should) {
    startRecording(onEvent, privacy!);
    // After an SPA navigation its own page event follows.
    if (navigated !== true) sendPageView?.();
  } else {
    stopRecording();
    seal();
  }
};

/**
 * Replaces a session that went idle now rather than at the next event (sessionId(), the page
 * shown again), so that the new one opens with a full snapshot of what the page shows; true if it did.
 */
const renew = (): boolean => {
  if (restoring || !renewIfIdle(Date.now(), seal)) return false;
  // A new session is sampled anew.
  if (recording) allowed(privacy!) ? takeSnapshot() : sync();
  return true;
};

/**
 * The page is back from the back/forward cache (rrweb was stopped as it went in). The tab's later
 * pages may have carried its session on, so the replay's DOM is theirs by now, not this page's:
 * recording starts again, with rrweb's Meta and full snapshot, and a page view of its own. The
 * later page wrote its last seq and released the tab at its pagehide, but in another renderer:
 * those writes reach this page's sessionStorage a task or so after pageshow. Until they have (at
 * most a second), nothing is recorded, so no batch can reuse a number the later page sent.
 */
const restored = (waited = 0): void => {
  if (!tabReleased() && waited < 1e3) return void setTimeout(guard(restored), 20, waited + 20);
  restoring = false;
  returnToTab();
  sync();
  sendPageView?.(true);
};

/** The page is hidden, or (`left`) left. */
const leave = (left?: boolean): void => {
  seal(); // which also stores the session's last activity
  sendBeforeLeaving(left);
};

const api: Api = {
  identify(userId, traits) {
    const id = String(userId ?? "");
    if (!id) return;
    setUserId(id);
    if (wanted && consented) addCustom("identify", { user_id: id, traits: traits || {} });
  },
  track(name, props) {
    if (wanted && consented && name) addCustom("track", { name: String(name), props: props || {} });
  },
  flush() {
    seal();
    return whenSent();
  },
  stop() {
    wanted = false;
    sync();
  },
  start() {
    wanted = true;
    sync();
  },
  consent(granted) {
    consented = !!granted;
    if (consented) {
      wanted = true;
    } else {
      stopRecording(); // also forgets custom events still waiting for rrweb
      discard();
      dropAll();
    }
    sync();
  },
  sessionId() {
    renew();
    return current().id;
  },
};

/** Starts recording with `found` (the key, the ingest URL, whether consent is required); falsy: no key. */
export const boot = (found: Config | "" | null | undefined): void => guard(() => {
  const w = window as unknown as Record<string, {} | undefined>;
  // The snippet pasted twice (or by a tag manager too) must not record twice.
  if (w.__sessionstoryLoaded) return;
  w.__sessionstoryLoaded = 1;
  const supported = w.fetch && w.Promise && w.MutationObserver;
  const config = supported && found;
  if (!config) {
    warnOnce(supported ? "no data-key; not recording" : "browser not supported; not recording");
    return installApi(api, false);
  }
  const [key, ingestUrl, consentRequired] = config;
  consented = !consentRequired;
  // Fetched with the page's own fetch, before capture wraps it: not a network event of the page.
  loadPrivacy(new URL("config?key=" + encodeURIComponent(key), ingestUrl).href).then(
    guard((p: Privacy) => {
      privacy = p;
      masked.push(...p.mask, ...p.block);
      sync();
    }),
  );
  // Before the leave handlers: what reports as the page is hidden (web vitals)
  // must be buffered before they seal the last batch.
  sendPageView = installCapture(
    (tag, payload: any) => {
      // Captured page facts are only recorded while recording, personal data masked.
      if (recording && privacy!.level != "relaxed") {
        if (privacy!.level == "strict") {
          if (tag == "click") payload.text = stars(payload.text);
          if (tag == "page") payload.title = stars(payload.title);
        }
        maskDeep(payload);
      }
      if (recording) addCustom(tag, payload);
      return recording;
    },
    ingestUrl,
    // Leaving for a page a rule covers stops recording at once; coming back starts it once the
    // router has had time to render the new view (the page event follows at 100 ms), so the
    // first snapshot does not show the view the rule covered.
    () => (recording ? sync(true) : setTimeout(guard(sync), 80, true)),
  );
  // Data lost on the way (refused, or dropped while the server was unreachable): the replay's DOM
  // misses what it held until the next full snapshot, taken once a batch gets through again.
  startBatches(key, ingestUrl, () => recording && takeSnapshot());
  addEventListener(
    "pagehide",
    guard((e: PageTransitionEvent) => {
      leave(true);
      releaseTab();
      // Into the back/forward cache: recording resumes from scratch if the page comes back.
      restoring = e.persisted;
      sync();
    }),
  );
  addEventListener("pageshow", guard((e: PageTransitionEvent) => e.persisted && (comeBack(), restored())));
  document.addEventListener(
    "visibilitychange",
    guard(() => (document.visibilityState == "hidden" ? leave() : recording && renew())),
  );
  // Queued calls run before recording starts, so a queued consent(false) or
  // stop() means nothing is ever captured.
  installApi(api, true);
  sync();
})();
