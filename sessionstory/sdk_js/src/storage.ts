// Web Storage throws in Safari private mode, sandboxed iframes and when the
// quota is full; in those cases ids simply live for this page only.

export interface Store {
  get(key: string): string | null;
  set(key: string, value: string): void;
  remove(key: string): void;
}

function open(kind: "localStorage" | "sessionStorage"): Store {
  const memory: Record<string, string> = {};
  // Merely reading window.localStorage can throw, so it is looked up per call.
  const real = () => window[kind];
  return {
    get(key) {
      let value: string | null = null;
      try {
        value = real().getItem(key);
      } catch (_) {
        /* fall back to memory */
      }
      return value !== null ? value : key in memory ? memory[key] : null;
    },
    set(key, value) {
      memory[key] = value;
      try {
        real().setItem(key, value);
      } catch (_) {
        // Don't leave an older value behind to be read back instead of this one.
        try {
          real().removeItem(key);
        } catch (_) {
          /* storage unusable: memory holds the value */
        }
      }
    },
    remove(key) {
      delete memory[key];
      try {
        real().removeItem(key);
      } catch (_) {
        /* nothing stored there */
      }
    },
  };
}

/** Survives page loads of the same tab. */
export const tabStore = open("sessionStorage");
/** Survives across tabs and visits. */
export const deviceStore = open("localStorage");
