// The heatmap's toolbar (page, totals, layer switches, legend) and the scroll-depth column beside the page.
import { h } from "../../player/src/dom";
import { formatCount } from "./chart-format";
import type { HeatmapData, ScrollBand } from "./heatmap-data";
import { DEAD_COLOR, RAGE_COLOR, rampColor, rampGradient, type Geometry } from "./heatmap-layers";

export interface LayerSwitches {
  clicks: boolean;
  frustration: boolean;
  scrollMap: boolean;
}

export type LayerName = keyof LayerSwitches;

/** A checkbox drawn as a switch; it stays a real checkbox for keyboards and screen readers. */
function layerSwitch(
  name: LayerName,
  label: (string | Node)[],
  on: boolean,
  onChange: (name: LayerName, on: boolean) => void,
): HTMLElement {
  const box = h("input", { type: "checkbox", class: "ss-hm-switch", role: "switch", "data-testid": `heatmap-toggle-${name}` });
  box.checked = on;
  box.addEventListener("change", () => onChange(name, box.checked));
  return h("label", { class: "ss-hm-toggle" }, [box, ...label]);
}

function swatch(className: string, color?: string): HTMLElement {
  const el = h("span", { class: className, "aria-hidden": "true" });
  if (color) el.style.borderColor = color;
  return el;
}

export function toolbar(data: HeatmapData, switches: LayerSwitches, onChange: (name: LayerName, on: boolean) => void): HTMLElement {
  const rage = data.clicks.reduce((n, c) => n + c.rage, 0);
  const dead = data.clicks.reduce((n, c) => n + c.dead, 0);
  const plural = (n: number, one: string, many: string): string => `${formatCount(n)} ${n === 1 ? one : many}`;
  const stats = [plural(data.total_clicks, "click", "clicks"), plural(data.sessions, "session", "sessions")];
  const gradient = h("span", { class: "ss-hm-gradient", "aria-hidden": "true" });
  gradient.style.backgroundImage = rampGradient("to right");
  // Plain text on purpose: a recorded URL is visitor data and must never become a live link.
  const url = h("span", { class: "ss-hm-url", title: data.url }, [data.url || "(unknown page)"]);
  return h("div", { class: "ss-hm-toolbar" }, [
    h("div", { class: "ss-hm-row" }, [url, h("span", { class: "ss-hm-stats", "data-testid": "heatmap-stats" }, [stats.join(" · ")])]),
    h("div", { class: "ss-hm-row" }, [
      layerSwitch("clicks", ["Show click heatmap"], switches.clicks, onChange),
      layerSwitch(
        "frustration",
        [
          "Show rage/dead clicks",
          h("span", { class: "ss-hm-key" }, [
            swatch("ss-hm-ring", RAGE_COLOR),
            `${formatCount(rage)} rage`,
            swatch("ss-hm-ring ss-hm-ring-dashed", DEAD_COLOR),
            `${formatCount(dead)} dead`,
          ]),
        ],
        switches.frustration,
        onChange,
      ),
      layerSwitch("scrollMap", ["Show scroll map"], switches.scrollMap, onChange),
      h("span", { class: "ss-hm-spacer" }),
      h("span", { class: "ss-hm-legend" }, ["Fewer clicks", gradient, "More"]),
    ]),
  ]);
}

/** Narrow bar to the right of the page: the share of sessions that scrolled down to each 10 % of it. */
export class ScrollColumn {
  readonly element: HTMLElement;
  private readonly bar: HTMLElement;
  private readonly labels: HTMLElement;

  constructor(private readonly bands: ScrollBand[]) {
    this.bar = h("div", { class: "ss-hm-scroll-bar" });
    this.labels = h("div", { class: "ss-hm-scroll-labels" });
    this.element = h("div", { class: "ss-hm-scroll", "data-testid": "heatmap-scroll" }, [
      h("div", { class: "ss-hm-scroll-title" }, ["Scroll depth"]),
      h("div", { class: "ss-hm-scroll-body" }, [this.bar, this.labels]),
    ]);
    if (!bands.length) {
      this.element.classList.add("ss-hm-scroll-none");
      this.labels.append(h("div", { class: "ss-hm-scroll-empty" }, ["No scroll data"]));
      return;
    }
    // Each band's colour sits at its middle; the bar blends between them.
    const stops = bands.map((b) => `${rampColor(b.share)} ${b.depth - 5}%`);
    this.bar.style.backgroundImage = `linear-gradient(to bottom, ${rampColor(bands[0].share)} 0%, ${stops.join(", ")}, ${rampColor(bands[bands.length - 1].share)} 100%)`;
  }

  layout(g: Geometry): void {
    const height = g.page.height * g.scale;
    this.element.style.height = `${Math.round(height)}px`;
    if (!this.bands.length) return;
    const bandPx = height / 10;
    // Labels need about 18 px each: on a short page, label every second or fifth band.
    const every = bandPx >= 20 ? 10 : bandPx >= 10 ? 20 : 50;
    const labels = this.bands
      .filter((b) => b.depth % every === 0)
      .map((b) => {
        const label = h("div", { class: "ss-hm-scroll-label", title: `${Math.round(b.share * 100)} % of sessions scrolled down to ${b.depth} % of the page` }, [
          h("strong", {}, [`${Math.round(b.share * 100)} %`]),
          " reached",
        ]);
        label.style.top = `${Math.round((b.depth / 100) * height)}px`;
        return label;
      });
    this.labels.replaceChildren(...labels);
  }
}
