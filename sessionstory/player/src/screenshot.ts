// "Screenshot": the replay's current frame as a PNG file. modern-screenshot copies the replayed document
// into an SVG image and draws that on a canvas: an image never runs script, and nothing is added to the
// dashboard's own document, so the CSP and the replay's sandbox stay as they are.
// The player loads this module on the first click (a chunk of its own): it imports nothing of the player's, or
// the bundler would move what they share into a third file that the player would have to fetch up front.
import { domToPng } from "modern-screenshot";

/** A blank pixel for what cannot be put in the picture (see sameOrigin). */
const BLANK = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7";
/** A frame that takes longer than this to copy is given up on rather than leave the button waiting. */
const TIMEOUT_MS = 15000;

/**
 * Only our own server's files and inline data are fetched to draw the picture: the dashboard's CSP lets it
 * call no one else (connect-src 'self'), and an image of another site without CORS would taint the canvas.
 */
function sameOrigin(url: string): boolean {
  if (url.startsWith("data:") || url.startsWith("blob:")) return true;
  try {
    return new URL(url, location.href).origin === location.origin;
  } catch {
    return false;
  }
}

/** What a browser paints behind the page: the root's background, else the body's (it spreads to the whole window). */
function canvasColour(doc: Document): string {
  const view = doc.defaultView;
  for (const el of [doc.documentElement, doc.body]) {
    const colour = el && view ? view.getComputedStyle(el).backgroundColor : "";
    if (colour && colour !== "transparent" && colour !== "rgba(0, 0, 0, 0)") return colour;
  }
  return "#ffffff";
}

/** The visible part of the replayed page (the recorded viewport at its scroll position), as a PNG data URL. */
export async function framePng(iframe: HTMLIFrameElement): Promise<string> {
  const doc = iframe.contentDocument;
  const win = iframe.contentWindow;
  if (!doc?.documentElement || !win) throw new Error("there is no frame on screen yet");
  return domToPng(doc.documentElement, {
    width: win.innerWidth,
    height: win.innerHeight,
    scale: 1,
    backgroundColor: canvasColour(doc),
    timeout: TIMEOUT_MS,
    // The page as the visitor saw it, scrolled where they were, not from its top.
    features: { restoreScrollPosition: true },
    fetchFn: async (url) => (sameOrigin(url) ? false : BLANK),
  });
}

/** A file name that says which moment (`at` as the player shows it, "1:05") of which session: session-<id>-at-1m05s.png. */
export function screenshotName(at: string): string {
  const id = /\/sessions\/([^/?#]+)/.exec(location.pathname)?.[1] ?? "";
  const safeId = decodeURIComponent(id).replace(/[^A-Za-z0-9._-]/g, "").slice(0, 40);
  const parts = at.split(":");
  const time = parts.map((part, i) => part + ["h", "m", "s"][3 - parts.length + i]).join("");
  return `session${safeId ? `-${safeId}` : ""}-at-${time}.png`;
}

/** Saves the frame as a download, named for the moment `at` (as the player shows it). */
export async function saveScreenshot(iframe: HTMLIFrameElement, at: string): Promise<string> {
  const png = await framePng(iframe);
  const name = screenshotName(at);
  const link = document.createElement("a");
  link.href = png;
  link.download = name;
  link.click();
  return name;
}
