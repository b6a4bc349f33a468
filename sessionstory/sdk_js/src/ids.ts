// Who and when: visitor (device), window (tab), session (a tab's visit, ended
// by 30 minutes of inactivity) and the user the host page identified.
// Ids are created lazily so that nothing is written to storage before the SDK
// is actually asked to record (matters with data-consent="required").

import { deviceStore, type Store, tabJson, tabStore } from "./storage";

interface Session {
  id: string;
  /** Next batch number: the server drops a (session, seq) pair it already has. */
  seq: number;
  /** Last activity, ms since epoch. */
  at: number;
}

let session: Session | undefined;
/** The page is back from the back/forward cache: the tab is its own (a copy never comes from the cache). */
let ownTab = false;

/**
 * A random UUID (v4 layout): each 0, 1 and 8 of the template becomes a random
 * hex digit, the 8 one of 8-b. crypto.randomUUID exists only in secure contexts.
 */
const newId = (): string =>
  "10000000-1000-4000-8000-100000000000".replace(/[018]/g, (c) =>
    (+c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (+c / 4)))).toString(16),
  );

const stored = (store: Store, name: string): string => {
  let id = store.get(name);
  if (!id) store.set(name, (id = newId()));
  return id;
};

export const setUserId = (id: string): void => deviceStore.set("user", id);

/**
 * Writes the session's seq and last activity. Activity comes with events,
 * so whenever none are buffered what is stored is current.
 */
const saveSession = (): void => tabStore.set("session", JSON.stringify(session));

/** Starts a new session (seq back to 0). */
const renewSession = (now: number): Session => {
  session = { id: newId(), seq: 0, at: now };
  saveSession();
  return session;
};

/**
 * Marks the tab as recorded by this page until pagehide (`releaseTab`). A tab opened by script
 * (window.open) or duplicated starts with a copy of its opener's sessionStorage, ids included:
 * both tabs would send the same session, window and seq, and the server would drop the new
 * tab's batches as repeats. Such a copy arrives marked, as its opener is still open: its window
 * and session are the opener's, so this tab starts its own. A reload, or the tab's next page,
 * finds the mark removed and carries the session on.
 */
const claimTab = (): void => {
  if (tabStore.get("alive") && !ownTab) {
    tabStore.set("window");
    tabStore.set("session");
  }
  ownTab = false;
  tabStore.set("alive", "1");
};

/** The page is left (pagehide): the tab's next page carries its session on. */
export const releaseTab = (): void => {
  // Only a page that claimed the tab: nothing is written before the SDK records (consent).
  if (session) tabStore.set("alive");
};

/** Whether no page of this tab holds it (the mark `releaseTab` removes is absent). */
export const tabReleased = (): boolean => !tabStore.get("alive");

/**
 * The page is back from the back/forward cache: the tab is claimed again at the next use of
 * the session, which is read again from storage (a later page of the tab may have carried it on).
 */
export const returnToTab = (): void => {
  session = undefined;
  ownTab = true;
};

/**
 * The live session: the tab's stored one (unless corrupt), else a new one.
 * Setting its `at` marks activity in memory only; it is written to storage
 * with the next seq, which happens at most every couple of seconds while
 * events flow (and at pagehide, which seals the last batch).
 */
export const current = (): Session => {
  if (!session) {
    claimTab();
    const s = tabJson("session");
    session = s?.seq >= 0 && typeof s.id == "string" ? s : renewSession(Date.now());
  }
  return session!;
};

/**
 * After 30 idle minutes (or with no readable last activity) the next activity
 * opens a new session; true if it did. Every use of the session id comes after
 * this check, so a stored session that went idle is never used either. It is
 * never replaced implicitly: `sealOld` first seals what belongs to the old one.
 */
export const renewIfIdle = (now: number, sealOld: () => void): boolean =>
  !(now - current().at <= 30 * 60e3) && (sealOld(), renewSession(now), true);

/**
 * The ids a batch is sent under (the wire format's head fields), reserving its
 * seq: persisted before the batch can be sent.
 */
export const batchHead = (key: string) => {
  const s = current();
  const head = {
    key,
    session_id: s.id,
    visitor_id: stored(deviceStore, "visitor"),
    window_id: stored(tabStore, "window"),
    seq: s.seq++,
    // Left out of the JSON when undefined.
    user_id: deviceStore.get("user") || undefined,
  };
  saveSession();
  return head;
};
