// The recorded page behind the heatmap: rrweb's Replayer paused at the moment the page was fully
// shown, its frame then stretched to the page's whole height so every click has its place.
import type { Replayer } from "@rrweb/replay";
import type { RecordedEvent } from "../../player/src/events";
import { frameRendered } from "../../player/src/ready";
import { createReplayer } from "../../player/src/replayer";
import { LoadError } from "./http";

const FULL_SNAPSHOT = 2;
/** Pages taller than this are cut (a canvas, and the browser's patience, have limits). */
export const MAX_PAGE_PX = 30_000;
/** Stretching the frame can load more content (lazy images); measure again at most this often. */
const MAX_MEASURES = 4;

export interface PageSize {
  width: number;
  height: number;
}

export interface RenderedPage {
  replayer: Replayer;
  /** The page's full size, in CSS px of the recorded page. */
  size: PageSize;
  /** The recorded viewport (the "fold"). */
  viewport: PageSize;
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The events as the Replayer needs them, or a LoadError saying why there is nothing to show. */
export function checkEvents(body: unknown): RecordedEvent[] {
  if (!Array.isArray(body)) throw new LoadError("Could not load the recording of this page (the server sent invalid data).");
  const events = body.filter(
    (e): e is RecordedEvent => !!e && typeof e.type === "number" && typeof e.timestamp === "number",
  );
  if (events.length < 2 || !events.some((e) => e.type === FULL_SNAPSHOT)) {
    throw new LoadError("The recording of this page is empty.");
  }
  return events.sort((a, b) => a.timestamp - b.timestamp);
}

/** Renders the page at `atMs` into `stage` (which must be in the document) and resolves once it is on screen. */
export async function renderPage(stage: HTMLElement, events: RecordedEvent[], atMs: number, fallback: PageSize): Promise<RenderedPage> {
  // createReplayer refuses (LoadError) a frame whose sandbox is anything but "allow-same-origin": never scripts.
  const replayer = createReplayer(stage, events, { speed: 1, skipInactive: false });
  const iframe = replayer.iframe;
  iframe.title = "Recorded page";
  // As in the player: let the Replayer's own setTimeout(0) work run before seeking.
  await delay(16);
  const total = events[events.length - 1].timestamp - events[0].timestamp;
  replayer.pause(Math.min(Math.max(0, atMs), total));
  await frameRendered(iframe);

  const doc = iframe.contentDocument;
  if (!doc || !doc.documentElement) throw new LoadError("Could not show the recording of this page.");
  const viewport = {
    width: Number(iframe.getAttribute("width")) || fallback.width || 1280,
    height: Number(iframe.getAttribute("height")) || fallback.height || 800,
  };
  // The frame is about to become as tall as the page; "100vh" must keep meaning the recorded viewport.
  pinViewportUnits(doc, viewport);
  let height = pageHeight(doc, viewport.height);
  for (let i = 0; i < MAX_MEASURES; i++) {
    setFrameSize(replayer, { width: viewport.width, height });
    await frameRendered(iframe);
    const measured = pageHeight(doc, viewport.height);
    if (measured === height) break;
    height = measured;
  }
  // Whatever the visitor had scrolled to, the stretched frame shows the page from its top.
  doc.defaultView?.scrollTo(0, 0);
  return { replayer, size: { width: viewport.width, height }, viewport };
}

function pageHeight(doc: Document, viewportHeight: number): number {
  const measured = Math.max(doc.documentElement.scrollHeight, doc.body ? doc.body.scrollHeight : 0, viewportHeight);
  return Math.min(MAX_PAGE_PX, Math.ceil(measured));
}

function setFrameSize(replayer: Replayer, size: PageSize): void {
  replayer.iframe.setAttribute("width", String(size.width));
  replayer.iframe.setAttribute("height", String(size.height));
  replayer.wrapper.style.width = `${size.width}px`;
  replayer.wrapper.style.height = `${size.height}px`;
}

const VIEWPORT_UNIT = /(-?(?:\d+\.?\d*|\.\d+))(?:s|l|d)?(vh|vmin|vmax|vb)\b/g;

/**
 * Rewrites viewport-height units (vh, svh, dvh, vmin, …) in the page's stylesheets and style attributes
 * to pixels of the recorded viewport. Otherwise a "min-height: 100vh" hero would grow with the frame,
 * the page would grow with it, and the clicks below it would land on the wrong content.
 */
export function pinViewportUnits(doc: Document, viewport: PageSize): void {
  const px = (value: number, unit: string): number => {
    const { width: w, height: h } = viewport;
    const base = unit === "vmin" ? Math.min(w, h) : unit === "vmax" ? Math.max(w, h) : h;
    return (value * base) / 100;
  };
  const rewrite = (style: CSSStyleDeclaration): void => {
    for (let i = 0; i < style.length; i++) {
      const name = style[i];
      const value = style.getPropertyValue(name);
      if (!/v(h|min|max|b)\b/.test(value)) continue;
      const fixed = value.replace(VIEWPORT_UNIT, (_m, n: string, unit: string) => `${px(Number(n), unit)}px`);
      if (fixed !== value) style.setProperty(name, fixed, style.getPropertyPriority(name));
    }
  };
  const walk = (rules: CSSRuleList): void => {
    for (const rule of Array.from(rules)) {
      // Duck-typed: the frame's CSSOM classes are not this window's, so instanceof would always fail.
      const style = (rule as { style?: CSSStyleDeclaration }).style;
      if (style && typeof style.getPropertyValue === "function") rewrite(style);
      // @media, @supports, @layer, @container and nested rules.
      if ("cssRules" in rule && rule.cssRules) walk(rule.cssRules as CSSRuleList);
    }
  };
  for (const sheet of Array.from(doc.styleSheets)) {
    try {
      walk(sheet.cssRules);
    } catch {
      // A stylesheet from another origin cannot be read; it stays as it is.
    }
  }
  doc.querySelectorAll<HTMLElement>('[style*="vh"], [style*="vmin"], [style*="vmax"], [style*="vb"]').forEach((el) => {
    rewrite(el.style);
  });
}
