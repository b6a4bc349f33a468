// Who and when: visitor (device), window (tab), session (a tab's visit, ended
// by 30 minutes of inactivity) and the user the host page identified.
// Ids are created lazily so that nothing is written to storage before the SDK
// is actually asked to record (matters with data-consent="required").

import { deviceStore, tabStore } from "./storage";

const SESSION_KEY = "sessionstory.session";
const WINDOW_KEY = "sessionstory.window";
const VISITOR_KEY = "sessionstory.visitor";
const USER_KEY = "sessionstory.user";
const IDLE_MS = 30 * 60 * 1000;

interface Session {
  id: string;
  /** Next batch number: the server drops a (session, seq) pair it already has. */
  seq: number;
  /** Last activity, ms since epoch. */
  at: number;
}

let session: Session | null = null;

/** A random UUID (v4 layout), from randomUUID where the page is a secure context. */
export function newId(): string {
  const c = window.crypto;
  if (c && c.randomUUID) return c.randomUUID();
  const b = new Uint8Array(16);
  if (c && c.getRandomValues) c.getRandomValues(b);
  else for (let i = 0; i < 16; i++) b[i] = (Math.random() * 256) | 0;
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  let hex = "";
  for (let i = 0; i < 16; i++) hex += (b[i] + 0x100).toString(16).slice(1);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function stored(store: typeof tabStore, key: string): string {
  let id = store.get(key);
  if (!id) store.set(key, (id = newId()));
  return id;
}

export const visitorId = (): string => stored(deviceStore, VISITOR_KEY);
export const windowId = (): string => stored(tabStore, WINDOW_KEY);

export const userId = (): string | null => deviceStore.get(USER_KEY);
export const setUserId = (id: string): void => deviceStore.set(USER_KEY, id);

/** Writes the session's seq and last activity (also called at pagehide). */
export function saveSession(): void {
  if (session) tabStore.set(SESSION_KEY, JSON.stringify(session));
}

/** The tab's stored session, unless it has been idle for too long. */
function loadSession(now: number): Session | null {
  try {
    const s = JSON.parse(tabStore.get(SESSION_KEY) || "null");
    if (s && typeof s.id === "string" && s.seq >= 0 && now - s.at <= IDLE_MS) return s;
  } catch (_) {
    /* corrupt: start a new one */
  }
  return null;
}

/** Starts a new session (seq back to 0). */
export function renewSession(now = Date.now()): void {
  session = { id: newId(), seq: 0, at: now };
  saveSession();
}

/**
 * True when the live session has seen no activity for too long. It is never
 * replaced implicitly: the caller first seals what belongs to the old one.
 */
export function sessionExpired(now = Date.now()): boolean {
  return !!session && now - session.at > IDLE_MS;
}

function current(): Session {
  if (!session) {
    const now = Date.now();
    session = loadSession(now);
    if (!session) renewSession(now);
  }
  return session!;
}

export const sessionId = (): string => current().id;

/**
 * Marks activity in memory only; it is written to storage with the next seq,
 * which happens at most every couple of seconds while events flow (and at pagehide).
 */
export function touchSession(now = Date.now()): void {
  current().at = now;
}

/** Reserves the next batch number, persisting it before the batch can be sent. */
export function nextSeq(): { sessionId: string; seq: number } {
  const s = current();
  const seq = s.seq++;
  saveSession();
  return { sessionId: s.id, seq };
}
