// The page's console warnings and errors. The host's console keeps behaving
// exactly as before: same arguments, same `this`, same return value or throw.

import type { Emit } from "./sink";
import { clip, describe } from "./text";

export function installConsole(emit: Emit): void {
  /** Set while recording one call: whatever logs during it (rrweb, us) is not recorded. */
  let busy = false;
  for (const method of ["warn", "error", "assert"] as const) {
    const original = console[method] as (...args: unknown[]) => unknown;
    if (typeof original !== "function") continue;
    console[method] = function (this: unknown, ...args: unknown[]) {
      const assert = method === "assert";
      if (!busy && !(assert && args[0])) {
        busy = true;
        try {
          // Made here so that its only frame of ours is this function's.
          const trace = method !== "warn" && String(new Error().stack || "").split("\n");
          const message = args.slice(+assert).map(describe).join(" ");
          emit("console", {
            level: trace ? "error" : "warn",
            message: clip(assert ? "Assertion failed" + (message && ": " + message) : message, 1000),
            // Drop V8's "Error" header line, then our frame. Undefined is left out of the JSON.
            stack: trace ? clip(trace.slice(trace[0] === "Error" ? 2 : 1).join("\n"), 2000) : undefined,
          });
        } catch (_) {
          // Capture failing must not keep the host's message from printing.
        }
        busy = false;
      }
      return original.apply(this, args);
    };
  }
}
