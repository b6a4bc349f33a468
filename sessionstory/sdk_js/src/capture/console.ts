// The page's console warnings and errors. The host's console keeps behaving
// exactly as before: same arguments, same `this`, same return value or throw.

import { attempt } from "../guard";
import { patch } from "./patch";
import type { Emit } from "./sink";
import { clip, describe } from "./text";

export const installConsole = (emit: Emit): void => {
  /** Set while recording one call: whatever logs during it (rrweb, us) is not recorded. */
  let busy = false;
  for (const method of ["warn", "error", "assert"] as const) {
    patch(console, method, (call, _, args) => {
      const assert = method == "assert";
      if (!busy && !(assert && args[0])) {
        busy = true;
        // Made here so that its only frames of ours are this function's and patch's.
        const error = method != "warn" && new Error();
        // Capture failing must not keep the host's message from printing.
        attempt(() => {
          const trace = error && String(error.stack || "").split("\n");
          const message = args.slice(+assert).map(describe).join(" ");
          emit("console", {
            level: trace ? "error" : "warn",
            message: clip(assert ? "Assertion failed" + (message && ": " + message) : message, 1000),
            // Drop V8's "Error" header line, then our frames. Undefined is left out of the JSON.
            stack: trace ? clip(trace.slice(trace[0] == "Error" ? 3 : 2).join("\n"), 2000) : undefined,
          });
        });
        busy = false;
      }
      return call();
    });
  }
};
