// Core Web Vitals, measured as Google's web-vitals library measures them, in its essentials:
// the library's 5.8 KB (minified) were a fifth of what the SDK adds to rrweb, over the size budget.
//
// Each value is reported when the page is hidden or left, and again at a later hiding only if it
// changed (LCP, CLS and INP are final only then). The listeners capture on window, so they run
// before the SDK's own listener on document seals the last batch: the values go out with it.
// Left out, as rare: pages restored from the back/forward cache are not measured again.

import { attempt, guard } from "../guard";
import type { Emit } from "./sink";

type Name = "LCP" | "INP" | "CLS" | "FCP" | "TTFB";

/** web-vitals' ratings: good up to the first threshold, poor beyond the second. */
const THRESHOLDS: Record<Name, [number, number]> = {
  LCP: [2500, 4000],
  INP: [200, 500],
  CLS: [0.1, 0.25],
  FCP: [1800, 3000],
  TTFB: [800, 1800],
};

const rating = (name: Name, value: number) =>
  value <= THRESHOLDS[name][0] ? "good" : value <= THRESHOLDS[name][1] ? "needs-improvement" : "poor";

const observe = (type: string, each: (entry: any) => void, options?: object): unknown =>
  attempt(() =>
    new PerformanceObserver(guard((list: PerformanceObserverEntryList) => list.getEntries().forEach(each))).observe({
      type,
      buffered: true,
      ...options,
    }),
  );

export const installVitals = (emit: Emit): void => {
  const values: Partial<Record<Name, number>> = {};
  const sent: Partial<Record<Name, number>> = {};
  const nav: any = performance.getEntriesByType("navigation")[0];
  // A prerendered page is measured from when the visitor activated it.
  const start = nav?.activationStart || 0;
  const since = (time: number) => Math.max(time - start, 0);
  // What paints after the page was first hidden is not what the visitor saw load.
  let hiddenAt = document.visibilityState == "hidden" ? 0 : Infinity;
  let inputSeen = false;

  if (nav && nav.responseStart > 0) values.TTFB = since(nav.responseStart);
  observe("paint", (e) => {
    if (e.name == "first-contentful-paint" && e.startTime < hiddenAt) {
      values.FCP = since(e.startTime);
      values.CLS ??= 0; // CLS counts from the first paint, as in web-vitals
    }
  });
  // The largest paint so far, until the visitor first interacts.
  observe("largest-contentful-paint", (e) => {
    if (!inputSeen && e.startTime < hiddenAt) values.LCP = since(e.startTime);
  });
  for (const type of ["keydown", "click"]) {
    addEventListener(type, () => (inputSeen = true), { capture: true, once: true, passive: true });
  }

  // CLS: the largest burst of unexpected shifts (gaps under 1 s, at most 5 s long).
  let burst = 0;
  let burstStart = 0;
  let lastShift = 0;
  observe("layout-shift", (e) => {
    if (e.hadRecentInput) return;
    if (burst && e.startTime - lastShift < 1e3 && e.startTime - burstStart < 5e3) burst += e.value;
    else (burst = e.value), (burstStart = e.startTime);
    lastShift = e.startTime;
    values.CLS = Math.max(values.CLS || 0, burst);
  });

  // INP: the slowest interaction, ignoring one in 50 as outliers, from the 10 slowest kept.
  const slowest = new Map<number, number>();
  let interactions = 0;
  const onInteraction = (e: any) => {
    const id = e.interactionId;
    if (!id) return;
    if (!slowest.has(id)) interactions++;
    slowest.set(id, Math.max(slowest.get(id) || 0, e.duration));
    if (slowest.size > 20) {
      const keep = [...slowest].sort((a, b) => b[1] - a[1]).slice(0, 10);
      slowest.clear();
      keep.forEach(([k, v]) => slowest.set(k, v));
    }
    const durations = [...slowest.values()].sort((a, b) => b - a);
    const count = (performance as any).interactionCount || interactions;
    values.INP = durations[Math.min(durations.length - 1, Math.floor(count / 50))];
  };
  observe("event", onInteraction, { durationThreshold: 40 });
  observe("first-input", onInteraction);

  const report = guard((event: Event) => {
    if (event.type == "visibilitychange" && document.visibilityState != "hidden") return;
    hiddenAt = Math.min(hiddenAt, event.timeStamp);
    for (const name of Object.keys(values) as Name[]) {
      const value = name == "CLS" ? Math.round(values[name]! * 1e4) / 1e4 : Math.round(values[name]!);
      if (sent[name] !== value && emit("vitals", { name, value, rating: rating(name, value) })) sent[name] = value;
    }
  });
  addEventListener("visibilitychange", report, true);
  addEventListener("pagehide", report, true);
};
