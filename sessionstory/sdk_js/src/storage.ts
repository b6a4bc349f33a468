// Web Storage throws in Safari private mode, sandboxed iframes and when the
// quota is full; in those cases ids simply live for this page only.
// Every key is "sessionstory." + name: session, window, alive, pending (tab); visitor, user (device).

import { attempt } from "./guard";

export interface Store {
  get(name: string): string | null | undefined;
  /** Stores `value`; without one (or an empty one), removes the key. */
  set(name: string, value?: string): void;
}

const open = (kind: "localStorage" | "sessionStorage"): Store => {
  const memory: Record<string, string | undefined> = {};
  // Merely reading window.localStorage can throw, so it is looked up per call.
  const real = () => window[kind];
  return {
    // getItem gives null for a missing key; attempt gives undefined when storage is unusable.
    get: (name) => attempt(() => real().getItem("sessionstory." + name)) ?? memory[name],
    set(name, value) {
      const key = "sessionstory." + name;
      memory[name] = value;
      // When storing fails, don't leave an older value behind to be read back
      // instead of this one (memory holds it).
      (value && attempt(() => (real().setItem(key, value), 1))) || attempt(() => real().removeItem(key));
    },
  };
};

/** Survives page loads of the same tab. */
export const tabStore = open("sessionStorage");
/** Survives across tabs and visits. */
export const deviceStore = open("localStorage");

/** A tab-stored JSON value; undefined when absent or corrupt. */
export const tabJson = (name: string) => attempt(() => JSON.parse(tabStore.get(name)!));
