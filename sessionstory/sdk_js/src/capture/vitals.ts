// Core Web Vitals, as measured by Google's web-vitals library.
//
// LCP, CLS and INP are final only when the page is hidden. web-vitals reports
// them from capturing visibilitychange listeners on window, which run before
// the SDK's own listener on document seals the last batch: they go out with it.

import { type Metric, onCLS, onFCP, onINP, onLCP, onTTFB } from "web-vitals";
import { guard } from "../guard";
import type { Emit } from "./sink";

export const installVitals = (emit: Emit): void => {
  const report = guard((m: Metric) =>
    emit("vitals", {
      name: m.name,
      // CLS is a unitless score; the others are milliseconds.
      value: m.name == "CLS" ? Math.round(m.value * 1e4) / 1e4 : Math.round(m.value),
      rating: m.rating,
    }),
  );
  // Default options (no reportAllChanges): each metric is reported once final.
  for (const on of [onLCP, onINP, onCLS, onFCP, onTTFB]) guard(on as (onReport: typeof report) => void)(report);
};
