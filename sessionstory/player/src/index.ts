// Entry point of player.js: mounts a player on every [data-testid="player"] the dashboard rendered.
import { EventPages, LoadError, checkEvents, reaches, type RecordedEvent } from "./events";
import { h } from "./dom";
import { LivePlayer } from "./live";
import { Player } from "./player";
import { askMoments, type Moment } from "./story";

declare global {
  interface Window {
    __ssPlayer?: Player["replayer"];
  }
}

const mounted = new WeakSet<HTMLElement>();
/**
 * Named steps of opening a session (bench/replay.py reads them to say where the first frame's time goes):
 * ss:script (this bundle runs), ss:asked (the first events are asked for), ss:answered (their answer's headers
 * are in: events.ts; the page's preload has often fetched it all by then), ss:events (the first pages are in), ss:replayer (the Player is built),
 * ss:seeked (the frame at ?t= is in the DOM), ss:ready (painted); then ss:moments (the server's moments are in
 * the timeline and the Events panel), after the first frame.
 */
const mark = (name: string): void => void performance.mark(`ss:${name}`);
mark("script");
/** Batches asked for in each request after the first, which brings just what shows the requested moment. */
const MORE_BATCHES = 128;

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
  const momentsUrl = root.dataset.momentsUrl;
  try {
    if (!url) throw new LoadError("Could not load this session (no events URL).");
    const at = startMs(root);
    const pages = new EventPages(url);
    const expectedTotal = Number(root.dataset.durationMs) || 0;
    mark("asked");
    let events = await pages.open(at);
    // Clicks and frustration signals come from their own URL, asked for once the server has answered for the
    // events (it would otherwise work on both at once) and read after the first frame; they only add to the
    // timeline and the panels, so the replay never waits for them and never fails because of them.
    const moments = momentsUrl ? askMoments(momentsUrl) : null;
    const started = pages.started ?? 0;
    while (!pages.forwardDone && !reaches(events, started + at)) {
      events = events.concat(await pages.forward(MORE_BATCHES));
    }
    mark("events");
    const player = new Player(root, checkEvents(events), { end: pages.forwardDone, expectedTotal, started });
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
    player.afterFirstFrame();
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

function showMoments(player: Player, moments: (() => Promise<Moment[]>) | null): void {
  if (!moments) {
    player.setMoments(null);
    return;
  }
  moments().then(
    (list) => {
      player.setMoments(list);
      mark("moments");
    },
    (error: unknown) => {
      console.warn("SessionStory player: could not load the session's moments:", error);
      player.setMoments(null, true);
    },
  );
}

/**
 * The rest of a long session, into the running player: the batches after those it opened on, then those before,
 * unless a seek before them is waiting (then those first, all at once). `data-loaded` says when all is in.
 */
async function loadRest(player: Player, pages: EventPages, root: HTMLElement): Promise<void> {
  try {
    while (!pages.done) {
      const urgent = player.waitsForEarlier;
      if (pages.hasEarlier && (urgent || pages.forwardDone)) {
        player.prepend(await pages.earlier(urgent ? Infinity : MORE_BATCHES), !pages.hasEarlier);
      } else {
        player.extend(await pages.forward(MORE_BATCHES), pages.forwardDone);
      }
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
