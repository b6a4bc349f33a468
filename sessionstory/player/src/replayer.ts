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
  const replayer = new Replayer(events, {
    root: stage,
    speed: settings.speed,
    skipInactive: settings.skipInactive,
    // Canvas replay needs allow-scripts in the sandbox: never.
    UNSAFE_replayCanvas: false,
    liveMode,
    // Events cast "at once" (as live mode does) would collect in rrweb's virtual DOM until a seek flushes it.
    useVirtualDom: !liveMode && (settings.virtualDomSeeks ?? true),
    // rrweb's tail is a canvas drawn over the page; the cursor alone is enough and keeps frames clean.
    mouseTail: false,
    // The warnings are about rrweb internals (missing nodes); the person watching cannot act on them.
    showWarning: false,
    // Focusing replayed inputs would steal keyboard focus from the dashboard and scroll the page.
    triggerFocus: false,
    insertStyleRules: [],
  });
  refuseUnsafeFrame(replayer);
  describeFrame(replayer.iframe);
  return replayer;
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
