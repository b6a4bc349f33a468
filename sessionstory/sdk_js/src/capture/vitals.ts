// Core Web Vitals, as measured by Google's web-vitals library.
//
// The library measures; the SDK reports each metric's latest value when the page is hidden or
// left (as web-vitals' README batches its reports), and again at a later hiding only if it
// changed. Why not the library's own final reports: it computes INP in an idle callback, and a
// page hidden before one ran (a visitor who clicks and leaves; headless Chromium never runs one
// after an input) gets its INP processed by a listener that fires after the final report, so the
// final report never carries it. With reportAllChanges every new value reaches `latest`, and this
// listener on document runs after all of the library's on window, before the SDK's own (added
// later, on document) seals the last batch: the values go out with it.

import { type Metric, onCLS, onFCP, onINP, onLCP, onTTFB } from "web-vitals";
import { guard } from "../guard";
import type { Emit } from "./sink";

type Vital = { name: string; value: number; rating: string };

export const installVitals = (emit: Emit): void => {
  const latest = new Map<string, Vital>();
  /** What was recorded, by metric: a value reported while not recording goes out at a later hiding. */
  const sent = new Map<string, number>();
  const report = guard((m: Metric) =>
    latest.set(m.name, {
      name: m.name,
      // CLS is a unitless score; the others are milliseconds.
      value: m.name == "CLS" ? Math.round(m.value * 1e4) / 1e4 : Math.round(m.value),
      rating: m.rating,
    }),
  );
  for (const on of [onLCP, onINP, onCLS, onFCP, onTTFB]) {
    guard(on as (onReport: typeof report, options: object) => void)(report, { reportAllChanges: true });
  }
  const send = () =>
    latest.forEach(
      (vital, name) => sent.get(name) !== vital.value && emit("vitals", { ...vital }) && sent.set(name, vital.value),
    );
  document.addEventListener("visibilitychange", guard(() => document.visibilityState == "hidden" && send()));
};
