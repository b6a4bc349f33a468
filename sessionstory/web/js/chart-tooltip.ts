// The hover card of a chart: the day, then each visible series' value, next to the cursor.
// For bars it also shades the hovered day's column (bars have no cursor line).
import type uPlot from "uplot";
import { h } from "../../player/src/dom";
import { DAY_S, type ChartSpec } from "./chart-data";
import { formatCount, formatFullDay } from "./chart-format";

const OFFSET_PX = 14;

export function tooltipPlugin(spec: ChartSpec): uPlot.Plugin {
  let tip: HTMLElement;
  let column: HTMLElement;
  let shownIdx: number | null = null;

  const hide = (): void => {
    tip.hidden = true;
    column.hidden = true;
    shownIdx = null;
  };

  const fill = (u: uPlot, idx: number): void => {
    const rows = spec.series
      .map((s, i) => ({ s, on: u.series[i + 1].show !== false, v: s.values[idx] }))
      .filter((r) => r.on)
      .map(({ s, v }) => {
        const swatch = h("span", { class: "ss-chart-swatch" });
        swatch.style.background = s.color;
        return h("div", { class: "ss-chart-tip-row" }, [
          swatch,
          h("span", { class: "ss-chart-tip-label" }, [s.label]),
          h("span", { class: "ss-chart-tip-value" }, [v === null ? "–" : formatCount(v)]),
        ]);
      });
    tip.replaceChildren(h("div", { class: "ss-chart-tip-day" }, [formatFullDay(spec.x[idx])]), ...rows);
  };

  const place = (u: uPlot, idx: number): void => {
    const left = u.cursor.left ?? 0;
    const top = u.cursor.top ?? 0;
    const width = u.over.clientWidth;
    const height = u.over.clientHeight;
    const tipW = tip.offsetWidth;
    const tipH = tip.offsetHeight;
    let x = left + OFFSET_PX;
    if (x + tipW > width) x = left - OFFSET_PX - tipW;
    const y = Math.max(0, Math.min(height - tipH, top - tipH / 2));
    tip.style.transform = `translate(${Math.round(Math.max(-8, x))}px, ${Math.round(y)}px)`;
    if (spec.kind === "bars") {
      const center = u.valToPos(spec.x[idx], "x");
      const dayPx = u.valToPos(spec.x[0] + DAY_S, "x") - u.valToPos(spec.x[0], "x");
      column.style.transform = `translateX(${Math.round(center - dayPx / 2)}px)`;
      column.style.width = `${Math.max(1, Math.round(dayPx))}px`;
      column.hidden = false;
    }
  };

  return {
    hooks: {
      init: (u) => {
        tip = h("div", { class: "ss-chart-tip", "aria-hidden": "true" });
        column = h("div", { class: "ss-chart-column" });
        tip.hidden = true;
        column.hidden = true;
        u.over.append(tip);
        u.under.append(column);
        u.over.addEventListener("mouseleave", hide);
      },
      setCursor: (u) => {
        const idx = u.cursor.idx;
        if (idx === null || idx === undefined || (u.cursor.left ?? -1) < 0) {
          hide();
          return;
        }
        if (idx !== shownIdx) {
          fill(u, idx);
          shownIdx = idx;
        }
        tip.hidden = false;
        place(u, idx);
      },
      // A legend click hides or shows a series: the open card must follow.
      setSeries: () => {
        shownIdx = null;
      },
    },
  };
}
