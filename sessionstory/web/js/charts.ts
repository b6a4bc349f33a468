// Entry point of charts.js: draws every .ss-chart the dashboard rendered, with uPlot.
// <div class="ss-chart" data-chart='{"kind": "bars", "x": ["2026-11-20", ...], "series": [...], "height": 220}'>
import uPlot from "uplot";
import { h } from "../../player/src/dom";
import { ChartDataError, isEmpty, parseSpec, type ChartSpec } from "./chart-data";
import { formatCount, formatDay } from "./chart-format";
import { chartOptions } from "./chart-options";
import { mountEach, onCleanup } from "./mount";
import { adoptStyles } from "./styles";

const SELECTOR = ".ss-chart";

interface Mounted {
  plot: uPlot | null;
  observer: ResizeObserver;
}

const charts = new WeakMap<HTMLElement, Mounted>();

function message(el: HTMLElement, text: string, height: number, role: "status" | "alert"): void {
  const box = h("div", { class: "ss-chart-empty", role }, [text]);
  box.style.height = `${height}px`;
  el.replaceChildren(box);
}

/** The width uPlot may use: the element's content box. */
function contentWidth(el: HTMLElement): number {
  const style = getComputedStyle(el);
  return Math.floor(el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight));
}

/** What a screen reader hears instead of the canvas: the range and each series' total. */
function describe(spec: ChartSpec): string {
  const range = `${formatDay(spec.x[0])} to ${formatDay(spec.x[spec.x.length - 1])}`;
  const totals = spec.series.map((s) => `${s.label}: ${formatCount(s.values.reduce<number>((a, v) => a + (v ?? 0), 0))}`);
  return `${spec.kind === "bars" ? "Bar" : "Line"} chart per day, ${range}. Totals: ${totals.join(", ")}.`;
}

function mount(el: HTMLElement): void {
  let spec: ChartSpec;
  try {
    spec = parseSpec(el.dataset.chart);
  } catch (error) {
    console.error("SessionStory chart:", error instanceof ChartDataError ? error.message : error);
    message(el, "Could not show this chart.", 120, "alert");
    el.dataset.ready = "error";
    return;
  }
  if (isEmpty(spec)) {
    message(el, "No data for this range", spec.height, "status");
    el.dataset.ready = "empty";
    return;
  }
  const state: Mounted = { plot: null, observer: new ResizeObserver(() => layout(el, spec, state)) };
  charts.set(el, state);
  // The first callback comes at once (and again whenever the element is shown, if it starts hidden).
  state.observer.observe(el);
}

function layout(el: HTMLElement, spec: ChartSpec, state: Mounted): void {
  const width = contentWidth(el);
  if (width <= 0) return; // hidden, e.g. in a closed tab: keep the last drawing
  if (!state.plot) {
    el.replaceChildren();
    state.plot = new uPlot(chartOptions(spec, width), [spec.x, ...spec.series.map((s) => s.values)], el);
    const wrap = state.plot.root.querySelector(".u-wrap");
    wrap?.setAttribute("role", "img");
    wrap?.setAttribute("aria-label", describe(spec));
    el.dataset.ready = "true";
  } else if (Math.abs(state.plot.width - width) >= 1) {
    state.plot.setSize({ width, height: spec.height });
  }
}

function unmount(el: HTMLElement): void {
  const state = charts.get(el);
  if (!state) return;
  state.observer.disconnect();
  state.plot?.destroy();
  charts.delete(el);
}

adoptStyles("charts", __SS_CSS__);
mountEach(SELECTOR, mount);
onCleanup(SELECTOR, unmount);
