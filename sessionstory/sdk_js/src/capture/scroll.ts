// How far down each page the visitor got: the maximum depth, in 10-point steps.

import { guard } from "../guard";
import type { Emit } from "./sink";

/** Starts watching; returns what to call when a new page begins. */
export function installScroll(emit: Emit): () => void {
  let max = 0;
  let sent = 0;
  let timer: ReturnType<typeof setTimeout> | 0 = 0;
  /** Measures the depth (% of the document above the viewport's bottom); sends it if `worth` says so. */
  const measure = (worth: (depth: number) => boolean) => {
    timer = 0;
    const height = document.documentElement.scrollHeight;
    const depth = Math.max(0, Math.min(100, Math.round((100 * (scrollY + innerHeight)) / height))) || 0;
    if (worth(depth)) emit("scroll", { depth, height });
  };
  const deeper = (depth: number) => {
    if (depth <= max) return false;
    max = depth;
    if (depth - sent < 10 && depth < 100) return false;
    sent = depth;
    return true;
  };
  // Trailing throttle: the position where scrolling stopped is always measured.
  const onScroll = () => {
    if (!timer) timer = setTimeout(guard(measure), 250, deeper);
  };
  addEventListener("scroll", onScroll, { passive: true });
  return () => measure((depth) => ((max = sent = depth), true));
}
