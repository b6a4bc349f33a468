// Entry point of player.js: mounts a player on every [data-testid="player"] the dashboard rendered.
import { EventPages, LoadError, checkEvents, reaches, type RecordedEvent } from "./events";
import { h } from "./dom";
import { LivePlayer } from "./live";
import { Player } from "./player";
import { fetchMoments, type Moment } from "./story";

declare global {
  interface Window {
    __ssPlayer?: Player["replayer"];
  }
}

const mounted = new WeakSet<HTMLElement>();
/**
 * Named steps of opening a session (bench/replay.py reads them to say where the first frame's time goes):
 * ss:script (this bundle runs), ss:events (the first pages are in), ss:replayer (the Player is built),
 * ss:seeked (the frame at ?t= is in the DOM), ss:ready (painted).
 */
const mark = (name: string): void => void performance.mark(`ss:${name}`);
mark("script");
/**
 * Batches asked for first (unless the page says, as it does when it preloads them), then in each later
 * request. The first few are the session's start (a full snapshot): the player opens on them while the rest
 * arrives. At 2 s a batch, 16 is about half a minute.
 */
const FIRST_BATCHES = 16;
const MORE_BATCHES = 128;

function firstBatches(root: HTMLElement): number {
  const count = Number(root.dataset.firstBatches);
  return Number.isInteger(count) && count > 0 ? count : FIRST_BATCHES;
}

/** Reads the optional start time; anything that is not a number means "from the start". */
function startMs(root: HTMLElement): number {
  const raw = (root.dataset.startMs ?? "").trim();
  const ms = raw === "" ? 0 : Number(raw);
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
}

function showMessage(root: HTMLElement, text: string, role: "status" | "alert"): void {
  root.replaceChildren(h("div", { class: "ss-message", role }, [text]));
}

async function mount(root: HTMLElement): Promise<void> {
  const url = root.dataset.eventsUrl;
  root.setAttribute("aria-busy", "true");
  showMessage(root, "Loading session…", "status");
  // Clicks and frustration signals come from their own URL, fetched alongside the events; they only add
  // to the timeline and the panels, so the replay never waits for them and never fails because of them.
  const momentsUrl = root.dataset.momentsUrl;
  const moments = momentsUrl ? fetchMoments(momentsUrl) : null;
  moments?.catch(() => undefined); // handled below, once the player exists
  try {
    if (!url) throw new LoadError("Could not load this session (no events URL).");
    const at = startMs(root);
    const pages = new EventPages(url);
    const expectedTotal = Number(root.dataset.durationMs) || 0;
    let events = await firstEvents(pages, firstBatches(root), at, expectedTotal);
    while (!pages.done && !reaches(events, at)) {
      events = events.concat(await pages.fetch(pages.countToReach(at, expectedTotal, MORE_BATCHES)));
    }
    mark("events");
    const player = new Player(root, checkEvents(events), { complete: pages.done, expectedTotal });
    mark("replayer");
    // For debugging and for tests: the live rrweb Replayer.
    (root as HTMLElement & { replayer?: unknown }).replayer = player.replayer;
    window.__ssPlayer = player.replayer;
    await player.openAt(at, () => mark("seeked"));
    mark("ready");
    root.dataset.ready = "true";
    // Only now: filling the panels with the moments lays out thousands of rows, which would hold up the
    // first frame (over half a second on a long session) for lists that are not needed to show it.
    showMoments(player, moments);
    if (root.dataset.autoplay === "1") player.play();
    void loadRest(player, pages, root);
  } catch (error) {
    if (!(error instanceof LoadError)) console.error("SessionStory player:", error);
    showMessage(root, error instanceof LoadError ? error.message : "Could not replay this session.", "alert");
    root.dataset.ready = "error";
  } finally {
    root.removeAttribute("aria-busy");
  }
}

function showMoments(player: Player, moments: Promise<Moment[]> | null): void {
  if (!moments) {
    player.setMoments(null);
    return;
  }
  moments.then(
    (list) => player.setMoments(list),
    (error: unknown) => {
      console.warn("SessionStory player: could not load the session's moments:", error);
      player.setMoments(null, true);
    },
  );
}

/**
 * The first page of events and, when `at` is further in, the pages up to it: asked for as soon as the first
 * answer's headers tell how many batches there are, so they download while the first page is read.
 */
async function firstEvents(pages: EventPages, count: number, at: number, expectedTotal: number): Promise<RecordedEvent[]> {
  const first = await pages.ask(count);
  const ahead = pages.done ? 0 : pages.countToReach(at, expectedTotal, 0);
  const next = ahead > 0 ? pages.ask(ahead) : null;
  next?.catch(() => undefined); // its failure is met below, after the first page's
  const events = await first();
  return next ? events.concat(await (await next)()) : events;
}

/** The rest of a long session, page by page, into the running player; `data-loaded` says when all is in. */
async function loadRest(player: Player, pages: EventPages, root: HTMLElement): Promise<void> {
  try {
    while (!pages.done) {
      const more = await pages.fetch(MORE_BATCHES);
      player.extend(more, pages.done);
    }
    root.dataset.loaded = "true";
  } catch (error) {
    console.warn("SessionStory player: could not load the rest of the session:", error);
    root.dataset.loaded = "error";
  }
}

async function mountLive(root: HTMLElement, streamUrl: string): Promise<void> {
  root.setAttribute("aria-busy", "true");
  try {
    await new LivePlayer(root, streamUrl, root.dataset.replayUrl ?? "?").open();
    root.dataset.ready = "true";
  } catch (error) {
    showMessage(root, error instanceof LoadError ? error.message : "Could not follow this session live.", "alert");
    root.dataset.ready = "error";
  } finally {
    root.removeAttribute("aria-busy");
  }
}

function mountAll(scope: ParentNode): void {
  scope.querySelectorAll<HTMLElement>('[data-testid="player"]').forEach((root) => {
    if (mounted.has(root)) return;
    mounted.add(root);
    const live = root.dataset.liveUrl;
    void (live ? mountLive(root, live) : mount(root));
  });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => mountAll(document));
else mountAll(document);
// The dashboard uses htmx: a player swapped into the page later is mounted too.
document.addEventListener("htmx:load", (event) => {
  if (event.target instanceof Element) mountAll(event.target.parentNode ?? event.target);
});
