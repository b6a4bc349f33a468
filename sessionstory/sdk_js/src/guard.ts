// The SDK runs on someone else's page: nothing it does may throw into the host's
// code, and it must not flood their console either.

const warned: Record<string, true> = {};
/** Taken before the SDK wraps console: its own warnings are not the page's to record. */
const warn = console.warn;

/** console.warn a given message only the first time. */
export function warnOnce(message: string): void {
  if (warned[message]) return;
  warned[message] = true;
  try {
    warn.call(console, "SessionStory: " + message);
  } catch (_) {
    // A page may have replaced console with something broken.
  }
}

/** Wraps a callback so that an error inside it is swallowed (and reported once). */
export function guard<A extends unknown[], R>(
  fn: (...args: A) => R,
): (...args: A) => R | undefined {
  return function (this: unknown, ...args: A) {
    try {
      return fn.apply(this, args);
    } catch (e) {
      warnOnce("internal error: " + e);
      return undefined;
    }
  };
}
