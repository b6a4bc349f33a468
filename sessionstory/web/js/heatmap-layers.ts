// What is drawn over the recorded page: the click heat, rings at rage/dead clicks and the scroll map.
// Canvases cover the scaled stage and draw in device pixels, so they stay sharp at any scale.
import simpleheat from "simpleheat";
import type { Click, ScrollBand } from "./heatmap-data";
import type { PageSize } from "./heatmap-page";

/** Cold to hot, shared by the click heat, the scroll map and their legends. */
const RAMP: [number, [number, number, number]][] = [
  [0, [59, 91, 219]],
  [0.3, [34, 184, 207]],
  [0.55, [81, 207, 102]],
  [0.75, [252, 196, 25]],
  [0.9, [255, 146, 43]],
  [1, [240, 62, 62]],
];

export const RAGE_COLOR = "#c0362c";
export const DEAD_COLOR = "#d98b00";

/** Click blobs: 25 CSS px of the page at 1:1, never smaller than this on screen. */
const HEAT_RADIUS = 25;
const HEAT_BLUR = 15;
const MIN_SCREEN_RADIUS = 9;
/** Canvas limits that hold in every browser we support. */
const MAX_CANVAS_SIDE = 16_000;
const MAX_CANVAS_AREA = 40_000_000;

/** The ramp's colour at t (0..1), as rgba(). */
export function rampColor(t: number, alpha = 1): string {
  const x = Math.min(1, Math.max(0, t));
  let i = 1;
  while (i < RAMP.length - 1 && RAMP[i][0] < x) i++;
  const [t0, c0] = RAMP[i - 1];
  const [t1, c1] = RAMP[i];
  const f = t1 === t0 ? 0 : (x - t0) / (t1 - t0);
  const c = c0.map((v, k) => Math.round(v + (c1[k] - v) * f));
  return `rgba(${c[0]}, ${c[1]}, ${c[2]}, ${alpha})`;
}

/** A CSS gradient of the ramp, for legends. */
export function rampGradient(direction: string): string {
  return `linear-gradient(${direction}, ${RAMP.map(([t]) => `${rampColor(t)} ${Math.round(t * 100)}%`).join(", ")})`;
}

/** Stop list for simpleheat: transparent-ish blue for the faintest, red for the hottest. */
function heatStops(): Record<number, string> {
  const stops: Record<number, string> = {};
  for (const [t] of RAMP) stops[0.15 + t * 0.85] = rampColor(t);
  return stops;
}

/** The page's geometry on screen: its size in CSS px of the recording, and the scale it is shown at. */
export interface Geometry {
  page: PageSize;
  scale: number;
  /** The recorded viewport's height: the fold. */
  fold: number;
}

/** A canvas over the whole stage. */
export class Layer {
  readonly canvas: HTMLCanvasElement;
  /** Device pixels per CSS px of the stage. */
  private ratio = 1;

  /** `readBack`: the canvas's pixels are read back (simpleheat colours them with getImageData). */
  constructor(className: string, private readonly readBack = false) {
    this.canvas = document.createElement("canvas");
    this.canvas.className = className;
    this.canvas.setAttribute("aria-hidden", "true");
  }

  set hidden(on: boolean) {
    this.canvas.hidden = on;
  }

  /** Sizes the canvas to the scaled page and returns a context drawing in stage CSS px. */
  reset(g: Geometry): CanvasRenderingContext2D {
    // Whole CSS px, as the stage is sized.
    const w = Math.round(g.page.width * g.scale);
    const h = Math.round(g.page.height * g.scale);
    let ratio = window.devicePixelRatio || 1;
    ratio = Math.min(ratio, MAX_CANVAS_SIDE / w, MAX_CANVAS_SIDE / h, Math.sqrt(MAX_CANVAS_AREA / (w * h)));
    this.ratio = ratio;
    this.canvas.width = Math.max(1, Math.round(w * ratio));
    this.canvas.height = Math.max(1, Math.round(h * ratio));
    this.canvas.style.width = `${w}px`;
    this.canvas.style.height = `${h}px`;
    // The first getContext call fixes the options; simpleheat's own call then gets this same context.
    const ctx = this.canvas.getContext("2d", { willReadFrequently: this.readBack }) as CanvasRenderingContext2D;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, w, h);
    return ctx;
  }

  get pixelRatio(): number {
    return this.ratio;
  }
}

/** Where a click is on the stage, in CSS px. */
export function clickPoint(c: Click, g: Geometry): [number, number] {
  return [c.x * g.page.width * g.scale, c.y * g.scale];
}

/** The click heat, with simpleheat: weight = count, `max` = the weight drawn at full heat. */
export function drawHeat(layer: Layer, clicks: Click[], g: Geometry, max: number): void {
  // simpleheat draws on the same context in device pixels: no scaling transform.
  layer.reset(g).setTransform(1, 0, 0, 1, 0, 0);
  const k = layer.pixelRatio;
  const visible = clicks.filter((c) => c.y <= g.page.height);
  const radius = Math.max(MIN_SCREEN_RADIUS, HEAT_RADIUS * g.scale);
  const blur = radius * (HEAT_BLUR / HEAT_RADIUS);
  simpleheat(layer.canvas)
    .data(
      visible.map((c): [number, number, number] => {
        const [x, y] = clickPoint(c, g);
        return [x * k, y * k, c.count];
      }),
    )
    .max(max)
    .radius(radius * k, blur * k)
    .gradient(heatStops())
    .draw(0.08);
}

/** Rings where visitors rage-clicked (red, solid) or clicked something that did nothing (amber, dashed). */
export function drawFrustration(layer: Layer, clicks: Click[], g: Geometry): void {
  const ctx = layer.reset(g);
  for (const c of clicks) {
    if (c.y > g.page.height || !(c.rage > 0 || c.dead > 0)) continue;
    const [x, y] = clickPoint(c, g);
    if (c.rage > 0) ring(ctx, x, y, c.dead > 0 ? 11 : 8, RAGE_COLOR, []);
    if (c.dead > 0) ring(ctx, x, y, 8 - (c.rage > 0 ? 1 : 0), DEAD_COLOR, [3, 2]);
  }
}

function ring(ctx: CanvasRenderingContext2D, x: number, y: number, r: number, color: string, dash: number[]): void {
  ctx.save();
  // A white halo keeps the ring visible on any background.
  ctx.beginPath();
  ctx.arc(x, y, r, 0, Math.PI * 2);
  ctx.lineWidth = 4.5;
  ctx.strokeStyle = "rgba(255, 255, 255, 0.9)";
  ctx.stroke();
  ctx.setLineDash(dash);
  ctx.lineWidth = 2;
  ctx.strokeStyle = color;
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.beginPath();
  ctx.arc(x, y, 2, 0, Math.PI * 2);
  ctx.fillStyle = color;
  ctx.fill();
  ctx.restore();
}

const LABEL_FONT = '600 12px system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';

/** The scroll map over the page: each 10 % band tinted by how many sessions reached it, lines labelled. */
export function drawScrollMap(layer: Layer, bands: ScrollBand[], g: Geometry): void {
  const ctx = layer.reset(g);
  const w = g.page.width * g.scale;
  const h = g.page.height * g.scale;
  for (const band of bands) {
    const top = ((band.depth - 10) / 100) * h;
    ctx.fillStyle = rampColor(band.share, 0.32);
    ctx.fillRect(0, top, w, h / 10);
  }
  ctx.font = LABEL_FONT;
  ctx.textBaseline = "middle";
  for (const band of bands) {
    const y = Math.round((band.depth / 100) * h) - 0.5;
    if (band.depth < 100) {
      ctx.strokeStyle = "rgba(17, 24, 39, 0.45)";
      ctx.setLineDash([6, 4]);
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(0, y);
      ctx.lineTo(w, y);
      ctx.stroke();
      ctx.setLineDash([]);
    }
    pill(ctx, `${Math.round(band.share * 100)} % reached`, 10, band.depth < 100 ? y - 14 : y - 16, "rgba(17, 24, 39, 0.82)");
  }
  if (g.fold > 0 && g.fold < g.page.height) {
    const y = Math.round(g.fold * g.scale) - 0.5;
    ctx.strokeStyle = "#ffffff";
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(0, y);
    ctx.lineTo(w, y);
    ctx.stroke();
    pill(ctx, "Fold of the recorded screen", w - 10, y - 14, "rgba(47, 91, 211, 0.92)", "right");
  }
}

function pill(ctx: CanvasRenderingContext2D, text: string, x: number, y: number, bg: string, align: "left" | "right" = "left"): void {
  const width = ctx.measureText(text).width + 16;
  const left = align === "left" ? x : x - width;
  ctx.fillStyle = bg;
  ctx.beginPath();
  if (ctx.roundRect) ctx.roundRect(left, y - 10, width, 20, 10);
  else ctx.rect(left, y - 10, width, 20);
  ctx.fill();
  ctx.fillStyle = "#ffffff";
  ctx.textAlign = "left";
  ctx.fillText(text, left + 8, y + 0.5);
}
