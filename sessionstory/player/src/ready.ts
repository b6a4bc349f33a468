// Knowing when the replayed frame is really on screen, so data-ready="true" means "screenshot now".

/** Assets that never load must not keep the player from saying it is ready. */
const ASSET_TIMEOUT_MS = 3000;

const nextFrame = (): Promise<void> => new Promise((resolve) => requestAnimationFrame(() => resolve()));
const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** Just after the next frame is drawn: a task queued in its animation-frame callback runs once its paint is done. */
const afterNextPaint = (): Promise<void> =>
  new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));

function withTimeout(work: Promise<unknown>, ms: number): Promise<void> {
  return Promise.race([work.then(() => undefined, () => undefined), delay(ms)]);
}

/** Resolves once the element fires load or error, or at once if it already settled. */
function settled(el: HTMLImageElement | HTMLLinkElement, done: boolean): Promise<void> {
  if (done) return Promise.resolve();
  return new Promise((resolve) => {
    el.addEventListener("load", () => resolve(), { once: true });
    el.addEventListener("error", () => resolve(), { once: true });
  });
}

/** A lazy image below the fold never loads; waiting for it would only cost the timeout. */
function willLoad(img: HTMLImageElement, win: Window): boolean {
  if (img.loading !== "lazy") return true;
  const box = img.getBoundingClientRect();
  return box.bottom >= 0 && box.right >= 0 && box.top <= win.innerHeight && box.left <= win.innerWidth;
}

function pendingAssets(doc: Document): Promise<void>[] {
  const win = doc.defaultView ?? window;
  const images = Array.from(doc.images)
    .filter((img) => willLoad(img, win))
    .map((img) => settled(img, img.complete));
  // rrweb inlines most stylesheets; the ones it could not read stay as links and load like images.
  const sheets = Array.from(doc.querySelectorAll<HTMLLinkElement>('link[rel="stylesheet"]')).map((link) =>
    settled(link, link.sheet !== null),
  );
  return images.concat(sheets);
}

async function frameDocument(iframe: HTMLIFrameElement): Promise<Document | null> {
  const deadline = performance.now() + ASSET_TIMEOUT_MS;
  while (performance.now() < deadline) {
    const doc = iframe.contentDocument;
    if (doc && doc.documentElement) return doc;
    await nextFrame();
  }
  return null;
}

/**
 * Waits for the frame's document, its images and stylesheets (bounded), then for a painted frame that has its
 * fonts. `timersFirst`: the Replayer's constructor timers (the first page's size, and building the first page if
 * no seek has) may still change the frame, so the timers already due run before the frame that counts.
 *
 * Fonts load once a layout asks for them, and `fonts.ready` settles only in a task after a layout: awaiting it
 * first missed the frame that was already due and waited for the next. So the next frame is drawn first; if a
 * font was still loading when it was, the frame after the fonts is the one that counts. (A font that starts
 * loading in that frame's layout cannot be in before the task queued in its animation-frame callback.)
 */
export async function frameRendered(iframe: HTMLIFrameElement, timersFirst = true): Promise<void> {
  const doc = await frameDocument(iframe);
  if (doc) await withTimeout(Promise.all(pendingAssets(doc)), ASSET_TIMEOUT_MS);
  if (timersFirst) await delay(0);
  await afterNextPaint();
  const fonts = [document.fonts, ...(doc ? [doc.fonts] : [])];
  if (fonts.some((set) => set.status === "loading")) {
    await withTimeout(Promise.all(fonts.map((set) => set.ready)), ASSET_TIMEOUT_MS);
    await afterNextPaint();
  }
}
