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

type QueuedCall = [string, ArrayLike<unknown>, (result: unknown) => void];

/** Every method swallows its own errors: a bug of ours must not break the page. */
function harden(impl: Api): Api {
  const api = {} as Record<string, unknown>;
  for (const name of Object.keys(impl) as (keyof Api)[]) {
    api[name] = guard(impl[name] as (...args: unknown[]) => unknown);
  }
  const flush = api.flush as () => Promise<void> | undefined;
  api.flush = () => flush() || Promise.resolve();
  return api as unknown as Api;
}

export function installApi(impl: Api): void {
  const api = harden(impl);
  const w = window as unknown as { sessionstory?: { _q?: QueuedCall[] } };
  const queue = w.sessionstory && w.sessionstory._q;
  w.sessionstory = api as never;
  if (!Array.isArray(queue)) return;

  const run = ([method, args, resolve]: QueuedCall) => {
    const fn = (api as unknown as Record<string, (...a: unknown[]) => unknown>)[method];
    // Resolving with a promise (flush) makes the stub's promise follow it.
    resolve(typeof fn === "function" ? fn.apply(api, Array.prototype.slice.call(args)) : undefined);
  };
  for (let i = 0; i < queue.length; i++) guard(run)(queue[i]);
  queue.length = 0;
  // The page may have kept a reference to the stub: its calls now run at once.
  queue.push = (...calls: QueuedCall[]) => {
    calls.forEach(guard(run));
    return 0;
  };
}
