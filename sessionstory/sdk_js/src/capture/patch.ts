// Wrapping the page's own functions (fetch, XMLHttpRequest, history, console):
// the page keeps getting exactly what the original returns or throws.

/**
 * Replaces obj[name] with a function that hands `wrap` the original call (same
 * `this`, same arguments), `this` and the arguments, and returns what `wrap` returns.
 */
export function patch<T>(
  obj: T,
  name: keyof T,
  wrap: (call: () => any, self: any, args: any[]) => unknown,
): void {
  const original = obj[name] as (...args: unknown[]) => unknown;
  obj[name] = function (this: unknown, ...args: unknown[]) {
    return wrap(() => original.apply(this, args), this, args);
  } as T[keyof T];
}
