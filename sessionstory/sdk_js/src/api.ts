// window.sessionstory. Pages may call it before this (async) script has
// loaded, through a stub that queues [method, arguments, resolve] triples:
//
//   window.sessionstory=window.sessionstory||(function(){var q=[],s={_q:q};
//   ["identify","track","flush","stop","start","consent","sessionId"].forEach(function(m){
//   s[m]=function(){var a=arguments;return new Promise(function(r){q.push([m,a,r])})}});return s})();

import { guard } from "./guard";

export interface Api {
  identify(userId: string, traits?: Record<string, unknown>): void;
  track(name: string, props?: Record<string, unknown>): void;
  /** Resolves once everything recorded so far is acknowledged (or dropped). */
  flush(): Promise<void>;
  stop(): void;
  start(): void;
  consent(granted: boolean): void;
  sessionId(): string;
}

type Method = (...args: unknown[]) => unknown;
type QueuedCall = [string, ArrayLike<unknown>, (result: unknown) => void];

/**
 * Installs `impl`, or when the SDK can't run (`live` false) methods that do
 * nothing, so calls queued by the stub still settle. Every method swallows its
 * own errors: a bug of ours must not break the page.
 */
export const installApi = (impl: Api, live: boolean): void => {
  const api: Record<string, Method> = {};
  for (const name in impl) api[name] = guard(live ? (impl[name as keyof Api] as Method) : () => {});
  const { flush, sessionId } = api;
  api.flush = () => flush() || Promise.resolve();
  api.sessionId = () => sessionId() || "";

  const w = window as unknown as { sessionstory?: { _q?: QueuedCall[] } };
  const queue = w.sessionstory?._q;
  w.sessionstory = api;
  if (!Array.isArray(queue)) return;
  // Resolving with a promise (flush) makes the stub's promise follow it.
  const run = guard(([method, args, resolve]: QueuedCall) => resolve(api[method]?.apply(api, args as unknown[])));
  // The page may have kept a reference to the stub: its calls now run at once.
  queue.push = (...calls) => (calls.forEach(run), 0);
  // What it queued so far, in order.
  queue.push(...queue.splice(0));
};
