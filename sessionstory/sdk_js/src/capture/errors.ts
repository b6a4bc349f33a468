// Uncaught errors, unhandled promise rejections and resources that failed to load.

import { guard } from "../guard";
import type { Emit } from "./sink";
import { clip, describe } from "./text";
import { scrubUrl } from "./url";

export const installErrors = (emit: Emit): void => {
  const report = (kind: string, message: string, error?: any, source = "", line = 0, col = 0) =>
    emit("error", {
      kind,
      message: clip(message, 1000),
      stack: clip(String(error?.stack || ""), 4000),
      source: clip(source, 2048),
      line,
      col,
    });
  const onError = (e: ErrorEvent) => {
    const el = e.target as HTMLImageElement & HTMLLinkElement;
    if (el?.tagName) {
      // Resource errors don't bubble: only a capturing listener on window sees them.
      const url = scrubUrl(el.currentSrc || el.src || el.href || "");
      report("resource", `failed to load ${el.tagName.toLowerCase()} ${url}`, 0, url);
    } else if (e.error || e.message) {
      report("error", e.message || describe(e.error), e.error, e.filename, e.lineno, e.colno);
    }
  };
  addEventListener("error", guard(onError), true);
  addEventListener(
    "unhandledrejection",
    guard((e: PromiseRejectionEvent) => report("unhandledrejection", describe(e.reason), e.reason)),
  );
};
