// Page values turned into strings of bounded size.

import { attempt } from "../guard";

/** Cuts to at most `max` characters, marking the cut with "…". */
export const clip = (s: string, max: number): string =>
  // A lone half of a surrogate pair would not be valid UTF-8 on the server.
  s.length > max ? s.slice(0, max - 1).replace(/[\ud800-\udbff]$/, "") + "…" : s;

/** Any value as a log line: strings as is, errors as "Name: message", objects as JSON. */
export const describe = (value: any): string => {
  const seen = new WeakSet();
  // At most 200 values visited: what the host logs can be arbitrarily big or deep.
  let budget = 200;
  return (
    attempt(
      (): string =>
        (value &&
          typeof value == "object" &&
          !(value instanceof Error) &&
          JSON.stringify(value, (_key, v) =>
            --budget < 0
              ? undefined
              : typeof v == "bigint" // which JSON.stringify throws on
                ? String(v)
                : !v || typeof v != "object"
                  ? v
                  : v.nodeType // DOM nodes: their framework internals (React fibers...) would be walked
                    ? "<" + v.nodeName.toLowerCase() + ">"
                    : seen.has(v)
                      ? "[Circular]"
                      : (seen.add(v), v),
          )) ||
        String(value),
    ) ?? "[unprintable]" // a throwing getter, toJSON or toString; Object.create(null)
  );
};
