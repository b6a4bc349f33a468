// Creating rrweb's Replayer with the only settings we allow: a recorded page must never run code here.
import { Replayer } from "@rrweb/replay";
import { LoadError, type RecordedEvent } from "./events";

export interface ReplaySettings {
  speed: number;
  skipInactive: boolean;
  /**
   * Whether a seek applies the events before its moment to rrweb's virtual DOM (a copy of the whole recorded
   * page, compared node by node with the page afterwards) rather than to the page itself (default: yes, except
   * in live mode). On a large page with a few minutes of changes the copy and the comparison cost more than the
   * changes do: the player says no.
   */
  virtualDomSeeks?: boolean;
}

/**
 * The Replayer renders into a stage element that must already be in the document
 * (rrweb checks that the sandboxed iframe gets a document). `liveMode` starts it empty, for
 * events added as they arrive (live.ts). Throws LoadError if the
 * frame is not sandboxed exactly as we require.
 */
export function createReplayer(
  stage: HTMLElement,
  events: RecordedEvent[],
  settings: ReplaySettings,
  liveMode = false,
): Replayer {
  const virtualDom = !liveMode && (settings.virtualDomSeeks ?? true);
  const replayer = new Replayer(events, {
    root: stage,
    speed: settings.speed,
    skipInactive: settings.skipInactive,
    // Canvas replay needs allow-scripts in the sandbox: never.
    UNSAFE_replayCanvas: false,
    liveMode,
    // Events cast "at once" (as live mode does) would collect in rrweb's virtual DOM until a seek flushes it.
    useVirtualDom: virtualDom,
    // rrweb's tail is a canvas drawn over the page; the cursor alone is enough and keeps frames clean.
    mouseTail: false,
    // The warnings are about rrweb internals (missing nodes); the person watching cannot act on them.
    showWarning: false,
    // Focusing replayed inputs would steal keyboard focus from the dashboard and scroll the page.
    triggerFocus: false,
    // rrweb's own rule keys the paused animations on a class it takes off and puts back on the recorded
    // page's root within every paused seek: after a seek's scroll had laid the page out, all of it was
    // styled again (25 ms of a large page's first frame). Ours changes only when the playing state does.
    pauseAnimation: false,
    insertStyleRules: [PAUSED_ANIMATIONS],
  });
  refuseUnsafeFrame(replayer);
  markPlaying(replayer);
  describeFrame(replayer.iframe);
  if (!virtualDom && !liveMode) {
    // Texts before scrolls: a text that makes the page taller lets a later scroll reach further.
    lastTextsOnly(replayer);
    lastScrollsOnly(replayer);
  }
  return replayer;
}

/** While paused, the recorded page's CSS animations stand still, as the rest of the frame does. */
const PLAYING = "data-ss-playing";
const PAUSED = `html:not([${PLAYING}])`;
const PAUSED_ANIMATIONS = `${PAUSED} *, ${PAUSED} *:before, ${PAUSED} *:after { animation-play-state: paused !important; }`;

/**
 * Keeps PLAYING on the recorded page's root as the Replayer plays or not, set once its state has settled: a
 * paused seek plays up to its moment and pauses again, all in one call, and must leave the root untouched.
 */
function markPlaying(replayer: Replayer): void {
  let queued = false;
  const mark = (): void => {
    if (queued) return;
    queued = true;
    queueMicrotask(() => {
      queued = false;
      const root = replayer.iframe.contentDocument?.documentElement;
      const playing = replayer.service.state.matches("playing");
      if (root && root.hasAttribute(PLAYING) !== playing) root.toggleAttribute(PLAYING, playing);
    });
  };
  replayer.on("state-change", mark);
  replayer.on("fullsnapshot-rebuilded", mark);
}

/**
 * What a seek keeps of one kind of change: the last per node, in the order of those last changes (`keep`), handed
 * to `apply` once the seek's other events are in. rrweb's own handler of the seek's end runs first (listeners run
 * in the order they were added); a new page forgets what was kept of the nodes it replaced.
 */
function keptUntilSeekEnd<T>(replayer: Replayer, apply: (kept: T[]) => void): Map<number, T> {
  const last = new Map<number, T>();
  replayer.on("flush", () => {
    if (last.size) apply([...last.values()]);
    last.clear();
  });
  replayer.on("fullsnapshot-rebuilded", () => last.clear());
  return last;
}

function keep<T>(last: Map<number, T>, id: number, change: T): void {
  last.delete(id); // to the end: applied in the order of the last changes
  last.set(id, change);
}

/** A scroll as rrweb records it, and its own (private) method that applies one. */
type ScrollData = { id: number };
type Scrolling = { applyScroll?: (scroll: ScrollData, isSync: boolean) => void };

/**
 * A seek applies all the events before its moment at once, and a scroll makes the browser lay the page out
 * first (to know how far it can scroll): after the changes since the last one, a whole layout of the recorded
 * page. Over minutes of a busy page that made a seek take seconds. Each scroll sets an absolute position, so
 * only each element's last one shows: those are applied once the seek's other events are in, as rrweb's
 * virtual DOM does.
 */
function lastScrollsOnly(replayer: Replayer): void {
  const scrolling = replayer as unknown as Scrolling;
  const own = scrolling.applyScroll;
  if (typeof own !== "function") return;
  const last = keptUntilSeekEnd<ScrollData>(replayer, (scrolls) => {
    for (const scroll of scrolls) own.call(replayer, scroll, true);
  });
  scrolling.applyScroll = (scroll, isSync) => {
    if (isSync) keep(last, scroll.id, scroll);
    else own.call(replayer, scroll, isSync);
  };
}

/** A DOM mutation as rrweb records it (the parts read here), and its own (private) method that applies one. */
type TextChange = { id: number; value: string | null };
type MutationData = { source: number; texts: TextChange[]; adds: { node: { id: number } }[]; removes: unknown[]; attributes: unknown[] };
type Mutating = { applyMutation?: (data: MutationData, isSync: boolean) => void };

/**
 * As with scrolls, a seek needs only each text node's last text: a page that re-renders a list twice a second
 * changed 21,600 texts in the 4.5 minutes a seek applied (bench.replay's busy session), about 30 ms of its
 * opening. A node that a later mutation adds comes with its text as of then, so an older kept text for it is dropped.
 */
function lastTextsOnly(replayer: Replayer): void {
  const mutating = replayer as unknown as Mutating;
  const own = mutating.applyMutation;
  if (typeof own !== "function") return;
  const last = keptUntilSeekEnd<TextChange>(replayer, (texts) => {
    own.call(replayer, { source: 0, texts, adds: [], removes: [], attributes: [] }, true);
  });
  mutating.applyMutation = (data, isSync) => {
    if (!isSync) return own.call(replayer, data, isSync);
    for (const add of data.adds) last.delete(add.node.id);
    for (const text of data.texts) keep(last, text.id, text);
    // A copy without the texts: the recorded event itself is read again by every later seek.
    own.call(replayer, data.texts.length ? { ...data, texts: [] } : data, isSync);
  };
}

/** Defence in depth: if rrweb ever built the frame without our sandbox, take it down before it renders anything. */
function refuseUnsafeFrame(replayer: Replayer): void {
  const sandbox = replayer.iframe.getAttribute("sandbox");
  const tokens = (sandbox ?? "").split(/\s+/).filter(Boolean);
  const safe = sandbox !== null && tokens.length === 1 && tokens[0] === "allow-same-origin";
  if (safe) return;
  try {
    replayer.destroy();
  } finally {
    replayer.iframe.remove();
  }
  throw new LoadError("Refusing to replay this session: the replay frame is not sandboxed safely.");
}

/** The frame is a picture of the page, not a place to tab into; give it a name for screen readers. */
function describeFrame(iframe: HTMLIFrameElement): void {
  iframe.title = "Replay of the recorded page";
  iframe.tabIndex = -1;
}
