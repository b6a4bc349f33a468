// SessionStory recorder, loaded by
//   <script src="{PUBLIC_URL}/sdk.js" data-key="{public_key}" async></script>
// It records the page with rrweb and ships batches to {PUBLIC_URL}/api/v1/ingest.

import type { eventWithTime } from "@rrweb/types";
import { type Api, installApi } from "./api";
import { addEvent, discard, seal, setKey } from "./batch";
import { installCapture, pageLoaded } from "./capture";
import { readConfig } from "./config";
import { guard, warnOnce } from "./guard";
import {
  renewSession,
  saveSession,
  sessionExpired,
  sessionId,
  setUserId,
  touchSession,
} from "./ids";
import { addCustom, startRecording, stopRecording, takeSnapshot } from "./recorder";
import { dropAll, restorePending, sendBeforeLeaving, setEndpoint, whenSent } from "./transport";

const LOADED_FLAG = "__sessionstoryLoaded";
const INCREMENTAL = 3;
const META = 4;

/** Recording happens while both hold: start()/stop() set one, consent() the other. */
let wanted = true;
let consented = true;
let recording = false;

const shouldRecord = (): boolean => wanted && consented;

/** After 30 idle minutes the next activity opens a new session; true if it did. */
function renewIfIdle(now: number): boolean {
  if (!sessionExpired(now)) return false;
  seal(); // what the old session still buffered goes out under its own id
  renewSession(now);
  return true;
}

function onEvent(event: eventWithTime): void {
  const now = Date.now();
  // A session must open with a full snapshot to be replayable. rrweb's start
  // begins with Meta and brings one; any other event asks for one.
  if (renewIfIdle(now) && event.type !== META) {
    takeSnapshot();
    if (event.type === INCREMENTAL) return; // the snapshot supersedes it
  }
  touchSession(now);
  let json: string;
  try {
    json = JSON.stringify(event);
  } catch (_) {
    return; // e.g. a circular object in track() props
  }
  addEvent(json);
}

/** Where captured page facts go: only recorded while recording. */
function captured(tag: string, payload: object): boolean {
  if (recording) addCustom(tag, payload);
  return recording;
}

function sync(): void {
  const should = shouldRecord();
  if (should === recording) return;
  recording = should;
  if (should) {
    startRecording(onEvent);
    pageLoaded();
  } else {
    stopRecording();
    seal();
  }
}

function leave(): void {
  seal();
  saveSession();
  sendBeforeLeaving();
}

const api: Api = {
  identify(userId: string, traits?: Record<string, unknown>): void {
    if (userId == null || userId === "") return;
    const id = String(userId);
    setUserId(id);
    if (shouldRecord()) addCustom("identify", { user_id: id, traits: traits || {} });
  },
  track(name: string, props?: Record<string, unknown>): void {
    if (shouldRecord() && name) addCustom("track", { name: String(name), props: props || {} });
  },
  flush(): Promise<void> {
    seal();
    return whenSent();
  },
  stop(): void {
    wanted = false;
    sync();
  },
  start(): void {
    wanted = true;
    sync();
  },
  consent(granted: boolean): void {
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
  sessionId(): string {
    if (renewIfIdle(Date.now()) && recording) takeSnapshot();
    return sessionId();
  },
};

/** Installed when the SDK can't run, so calls queued by the stub still settle. */
const inert: Api = {
  identify() {},
  track() {},
  flush: () => Promise.resolve(),
  stop() {},
  start() {},
  consent() {},
  sessionId: () => "",
};

function boot(): void {
  const w = window as unknown as Record<string, unknown>;
  // The snippet pasted twice (or by a tag manager too) must not record twice.
  if (w[LOADED_FLAG]) return;
  w[LOADED_FLAG] = true;
  if (typeof fetch !== "function" || typeof Promise !== "function" || !window.MutationObserver) {
    warnOnce("this browser is not supported; not recording");
    installApi(inert);
    return;
  }
  const config = readConfig();
  if (!config) {
    warnOnce('no key: add data-key="..." to the sdk.js script tag');
    installApi(inert);
    return;
  }
  setEndpoint(config.ingestUrl);
  setKey(config.key);
  consented = !config.consentRequired;
  // Before the leave handlers: what reports as the page is hidden (web vitals)
  // must be buffered before they seal the last batch.
  installCapture(captured, config.ingestUrl);
  restorePending();
  addEventListener("pagehide", guard(leave));
  document.addEventListener(
    "visibilitychange",
    guard(() => document.visibilityState === "hidden" && leave()),
  );
  // Queued calls run before recording starts, so a queued consent(false) or
  // stop() means nothing is ever captured.
  installApi(api);
  sync();
}

guard(boot)();
