// The SDK runs on someone else's page: nothing it does may throw into the host's
// code, and it must not flood their console either.

const warned: Record<string, 1> = {};
/** Taken before the SDK wraps console: its own warnings are not the page's to record. */
const warn = console.warn;

/** Runs `fn`; whatever it throws is swallowed and makes the result undefined. */
export const attempt = <R>(fn: () => R): R | undefined => {
  try {
    return fn();
  } catch (_) {
    // Callers treat undefined as "did not work".
  }
};

/** console.warn a given message only the first time. */
export const warnOnce = (...parts: unknown[]): void =>
  // Inside attempt: a thrown value may not even convert to a string, and a page
  // may have replaced console with something broken.
  attempt(() => {
    const message = "SessionStory: " + parts.join(" ");
    if (!warned[message]) {
      warned[message] = 1;
      warn.call(console, message);
    }
  });

/** Wraps a callback so that an error inside it is swallowed (and reported once). */
export const guard = <A extends unknown[], R>(fn: (...args: A) => R) =>
  function (this: unknown, ...args: A): R | undefined {
    try {
      return fn.apply(this, args);
    } catch (e) {
      warnOnce("internal error:", e);
    }
  };
