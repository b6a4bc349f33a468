// One heatmap: the recorded page, scaled to fit, with the click heat, frustration rings and
// scroll map drawn over it, the scroll-depth column beside it and a hover card for the clicks.
import type { Replayer } from "@rrweb/replay";
import { h } from "../../player/src/dom";
import type { RecordedEvent } from "../../player/src/events";
import { formatCount } from "./chart-format";
import { heatMax, scrollBands, type Click, type HeatmapData } from "./heatmap-data";
import { ScrollColumn, toolbar, type LayerName, type LayerSwitches } from "./heatmap-controls";
import { clickPoint, drawFrustration, drawHeat, drawScrollMap, Layer, type Geometry } from "./heatmap-layers";
import { renderPage, type PageSize } from "./heatmap-page";

/** How near (CSS px on screen) the pointer must be to a click for the hover card to describe it. */
const HOVER_PX = 14;
/** The scroll-depth column's width plus its gap: the page gets the rest of the width. */
const COLUMN_PX = 124;

export class HeatmapView {
  replayer: Replayer | null = null;
  private readonly viewport: HTMLElement;
  private readonly stage: HTMLElement;
  private readonly dim: HTMLElement;
  private readonly tip: HTMLElement;
  private readonly loading: HTMLElement;
  private readonly heat = new Layer("ss-hm-heat", true);
  private readonly marks = new Layer("ss-hm-marks");
  private readonly scrollMap = new Layer("ss-hm-scrollmap");
  private readonly column: ScrollColumn;
  private readonly switches: LayerSwitches;
  private readonly max: number;
  private geometry: Geometry | null = null;
  private observer: ResizeObserver | null = null;
  private frame = 0;

  constructor(private readonly root: HTMLElement, private readonly data: HeatmapData) {
    const frustrated = data.clicks.some((c) => c.rage > 0 || c.dead > 0);
    this.switches = { clicks: true, frustration: frustrated, scrollMap: false };
    this.max = heatMax(data.clicks);
    this.column = new ScrollColumn(scrollBands(data));
    const summary = `Click heatmap of ${data.url || "this page"}: ${formatCount(data.total_clicks)} clicks from ${formatCount(data.sessions)} sessions`;
    this.stage = h("div", { class: "ss-hm-stage", role: "img", "aria-label": summary });
    this.dim = h("div", { class: "ss-hm-dim" });
    this.tip = h("div", { class: "ss-hm-tip", role: "status", "aria-live": "polite" });
    this.tip.hidden = true;
    this.loading = h("div", { class: "ss-hm-loading", role: "status" }, ["Rendering the page…"]);
    this.viewport = h("div", { class: "ss-hm-viewport" }, [
      h("div", { class: "ss-hm-canvas" }, [this.stage, this.column.element]),
      this.loading,
    ]);
    const bar = toolbar(data, this.switches, (name, on) => this.toggle(name, on));
    root.replaceChildren(bar, this.viewport);
    // Until the page is measured: the recorded viewport, so the layout does not jump much.
    const snap = data.snapshot;
    this.layout({ width: snap?.width || 1280, height: snap?.height || 800 }, snap?.height || 800);
  }

  /** Renders the recorded page at `atMs` and draws the layers over it. */
  async open(events: RecordedEvent[], atMs: number): Promise<void> {
    const snap = this.data.snapshot;
    const page = await renderPage(this.stage, events, atMs, { width: snap?.width ?? 0, height: snap?.height ?? 0 });
    this.replayer = page.replayer;
    this.stage.append(this.dim, this.scrollMap.canvas, this.heat.canvas, this.marks.canvas, this.tip);
    if (!this.data.clicks.length) {
      this.stage.append(h("div", { class: "ss-hm-badge", role: "status" }, ["No clicks on this page in this range"]));
    }
    this.loading.remove();
    this.layout(page.size, page.viewport.height);
    this.observer = new ResizeObserver(() => this.schedule(page.size, page.viewport.height));
    this.observer.observe(this.viewport);
    this.listen();
    this.root.dataset.pageWidth = String(page.size.width);
    this.root.dataset.pageHeight = String(page.size.height);
    this.root.dataset.clicksShown = String(this.data.clicks.filter((c) => c.y <= page.size.height).length);
  }

  private schedule(page: PageSize, fold: number): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.layout(page, fold);
    });
  }

  /** Fits the page into the viewport's width (never above 1:1) and redraws if the scale changed. */
  private layout(page: PageSize, fold: number): void {
    const style = getComputedStyle(this.viewport);
    const room = this.viewport.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - COLUMN_PX;
    if (room <= 0) return; // hidden: keep the last layout
    const scale = Math.min(1, room / page.width);
    const prev = this.geometry;
    if (prev && prev.scale === scale && prev.page.height === page.height && prev.page.width === page.width) return;
    this.geometry = { page, scale, fold };
    const width = Math.round(page.width * scale);
    const height = Math.round(page.height * scale);
    this.stage.style.width = `${width}px`;
    this.stage.style.height = `${height}px`;
    if (this.replayer) {
      const wrapper = this.replayer.wrapper;
      wrapper.style.width = `${page.width}px`;
      wrapper.style.height = `${page.height}px`;
      wrapper.style.transform = scale < 1 ? `scale(${scale})` : "";
    }
    this.column.layout(this.geometry);
    this.root.dataset.scale = String(Math.round(scale * 1000) / 1000);
    if (this.replayer) this.draw();
  }

  private draw(): void {
    const g = this.geometry;
    if (!g) return;
    drawHeat(this.heat, this.data.clicks, g, this.max);
    drawFrustration(this.marks, this.data.clicks, g);
    drawScrollMap(this.scrollMap, scrollBands(this.data), g);
    this.applySwitches();
  }

  private toggle(name: LayerName, on: boolean): void {
    this.switches[name] = on;
    this.applySwitches();
  }

  private applySwitches(): void {
    this.heat.hidden = !this.switches.clicks;
    // The veil only helps colours read: none without anything drawn on it.
    this.dim.hidden = !this.data.clicks.length || (!this.switches.clicks && !this.switches.frustration);
    this.marks.hidden = !this.switches.frustration;
    this.scrollMap.hidden = !this.switches.scrollMap;
    this.root.dataset.layers = (Object.keys(this.switches) as LayerName[]).filter((k) => this.switches[k]).join(" ");
  }

  /** The hover card: the nearest click bucket under the pointer. */
  private listen(): void {
    let pending: PointerEvent | null = null;
    this.stage.addEventListener("pointermove", (event) => {
      if (pending === null) requestAnimationFrame(() => {
        if (pending) this.hover(pending);
        pending = null;
      });
      pending = event;
    });
    this.stage.addEventListener("pointerleave", () => {
      pending = null;
      this.tip.hidden = true;
    });
  }

  private hover(event: PointerEvent): void {
    const g = this.geometry;
    if (!g || (!this.switches.clicks && !this.switches.frustration)) {
      this.tip.hidden = true;
      return;
    }
    const box = this.stage.getBoundingClientRect();
    const px = event.clientX - box.left;
    const py = event.clientY - box.top;
    let best: Click | null = null;
    let bestD = HOVER_PX * HOVER_PX;
    for (const c of this.data.clicks) {
      const [x, y] = clickPoint(c, g);
      const d = (x - px) ** 2 + (y - py) ** 2;
      if (d <= bestD) {
        bestD = d;
        best = c;
      }
    }
    if (!best) {
      this.tip.hidden = true;
      return;
    }
    const share = this.data.total_clicks > 0 ? (best.count / this.data.total_clicks) * 100 : 0;
    const lines: (string | Node)[] = [
      h("strong", {}, [`${formatCount(best.count)} ${best.count === 1 ? "click" : "clicks"}`]),
      ` · ${share >= 0.1 ? formatCount(Math.round(share * 10) / 10) : "<0.1"} % of all`,
    ];
    if (best.rage > 0) lines.push(h("div", { class: "ss-hm-tip-rage" }, [`${formatCount(best.rage)} rage`]));
    if (best.dead > 0) lines.push(h("div", { class: "ss-hm-tip-dead" }, [`${formatCount(best.dead)} dead`]));
    this.tip.replaceChildren(...lines);
    this.tip.hidden = false;
    const [x, y] = clickPoint(best, g);
    const left = x + 14 + this.tip.offsetWidth > box.width ? x - 14 - this.tip.offsetWidth : x + 14;
    this.tip.style.transform = `translate(${Math.round(left)}px, ${Math.round(Math.max(0, y - this.tip.offsetHeight / 2))}px)`;
  }
}
