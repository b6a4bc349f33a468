// How far down each page the visitor got: the maximum depth, in 10-point steps.

import { guard } from "../guard";
import type { Emit } from "./sink";

/** Starts watching; returns what to call when a new page begins. */
export const installScroll = (emit: Emit): () => void => {
  let max = 0;
  let sent = 0;
  let timer: ReturnType<typeof setTimeout> | 0 = 0;
  /**
   * Measures the depth (% of the document above the viewport's bottom). Sent
   * when a new page begins (`reset`), then each time it gets 10 points deeper
   * than what was sent, or reaches 100.
   */
  const measure = (reset?: boolean) => {
    timer = 0;
    const height = document.documentElement.scrollHeight;
    const depth = Math.max(0, Math.min(100, Math.round((100 * (scrollY + innerHeight)) / height))) || 0;
    if (reset || (depth > max && ((max = depth) - sent >= 10 || depth == 100))) {
      max = sent = depth;
      emit("scroll", { depth, height });
    }
  };
  // Trailing throttle: the position where scrolling stopped is always measured.
  addEventListener("scroll", () => (timer ||= setTimeout(guard(measure), 250)), { passive: true });
  return () => measure(true);
};
