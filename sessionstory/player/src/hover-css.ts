// rrweb's rewrite of the recorded page's CSS for :hover, done right after the first frame instead of before it.
import { adaptCssForReplay as adaptCss, applyCssSplits, type Replayer } from "@rrweb/replay";

/** rrweb's cache of rewritten stylesheets, as its rebuild is given it. */
type CssCache = { stylesWithHoverClass: Map<string, string> };
/**
 * rrweb's own rewrite and its way of sharing a rewritten stylesheet out between a style element's text nodes,
 * exported by scripts/build.mjs (the build fails if they move). The rewrite gives every selector with :hover a
 * copy with the class `.\:hover`, which rrweb sets on the elements under the replayed mouse, and turns
 * device-width/height media features into width/height ones. Named imports, not the module's namespace: that
 * object needs a helper esbuild shares with the screenshot chunk, which player.js then imports before it can run.
 */
declare module "@rrweb/replay" {
  export function adaptCssForReplay(css: string): string;
  export function applyCssSplits(recorded: Recorded, css: string, hackCss: boolean, cache: CssCache): void;
}
/** Where rrweb's recorder split a style element's stylesheet between its text nodes (rrweb's own marker). */
const CSS_SPLIT = "/* rr_split */";
/** The media features rrweb rewrites (its MEDIA_SELECTOR): a stylesheet with one is rewritten before the frame. */
const DEVICE_MEDIA = /(max|min)-device-(width|height)/;

/**
 * rrweb's cache of rewritten stylesheets (original text → rewritten), asked before every rewrite. While
 * `deferring`, a stylesheet it has not rewritten yet is answered with itself, and remembered.
 */
class DeferringCache extends Map<string, string> {
  deferring = true;
  readonly deferred = new Set<string>();

  override get(css: string): string | undefined {
    const known = super.get(css);
    if (known !== undefined || !this.deferring || css === "" || DEVICE_MEDIA.test(css)) return known;
    this.deferred.add(css);
    return css;
  }

  /** The stylesheet as rrweb rewrites it: from the cache if it was rewritten already. */
  rewritten(css: string): string {
    return super.get(css) ?? adaptCss(css);
  }
}

type Seeking = Pick<Replayer, "play" | "pause">;
/** rrweb's own (private) method that sets the class `:hover`, which this stands in front of. */
type Hovering = { hoverElements?: (element: Element) => void };
/** What rrweb's mirror is told of each node it builds: the node as recorded. */
type Recorded = { type?: number; tagName?: string; attributes?: Record<string, unknown>; childNodes?: unknown[] };
type Adding = { add?: (node: Node, recorded: Recorded) => void };
const ELEMENT = 2; // rrweb-snapshot's NodeType.Element

interface Idle {
  cancel(): void;
}

/** `work` once the page has nothing else to do (within 2 s); a timer where there is no requestIdleCallback (Safari). */
function whenIdle(work: () => void): Idle {
  if (typeof requestIdleCallback === "function") {
    const handle = requestIdleCallback(work, { timeout: 2000 });
    return { cancel: () => cancelIdleCallback(handle) };
  }
  const handle = setTimeout(work, 50);
  return { cancel: () => clearTimeout(handle) };
}

/**
 * A style element whose stylesheet rrweb's recorder split between several text nodes (`_cssText` with its marker),
 * rewritten before the frame: rrweb finds where each node's part begins in the rewritten text, and writes the
 * parts into the recorded nodes, which it builds right after the element. Rewritten later, the parts would have
 * to be found again in the frame; and a seek to the same moment builds nothing again.
 */
function rewriteSplit(recorded: Recorded, cache: DeferringCache): void {
  const css = recorded.attributes?._cssText;
  if (!cache.deferring || typeof css !== "string" || !css.includes(CSS_SPLIT) || (recorded.childNodes?.length ?? 0) < 2) return;
  cache.deferring = false;
  try {
    applyCssSplits(recorded, css, true, { stylesWithHoverClass: cache });
  } finally {
    cache.deferring = true;
  }
}

/**
 * What rrweb's rewrite does to :hover (its pseudoClassPlugin), done on a stylesheet's rules: each selector with
 * :hover gets a copy for the class `.\:hover`, in rules at any depth (media, supports, nesting).
 */
function withHoverCopies(rules: CSSRuleList): void {
  for (const rule of Array.from(rules)) {
    // Rules of the frame's own window: told by their properties, not by this window's classes.
    const style = rule as Partial<CSSStyleRule> & Partial<CSSGroupingRule>;
    if (typeof style.selectorText === "string" && style.selectorText.includes(":hover")) {
      const copies = selectorList(style.selectorText)
        .filter((selector) => selector.includes(":hover"))
        .map((selector) => selector.replace(/:hover/g, ".\\:hover"));
      style.selectorText = [style.selectorText, ...copies].join(", ");
    }
    if (style.cssRules) withHoverCopies(style.cssRules);
  }
}

/** The selectors of a selector list: split at its commas, but not at those in parentheses, brackets or quotes. */
function selectorList(list: string): string[] {
  const selectors: string[] = [];
  let depth = 0;
  let quote = "";
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = "";
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "\\") i++;
    else if (c === "(" || c === "[") depth++;
    else if (c === ")" || c === "]") depth--;
    else if (c === "," && depth === 0) {
      selectors.push(list.slice(start, i).trim());
      start = i + 1;
    }
  }
  selectors.push(list.slice(start).trim());
  return selectors;
}

/**
 * Builds the first frame with the recorded stylesheets as they are, and rewrites them (rrweb's hackCss) once it
 * is on screen. The rewrite is postcss parsing and printing every stylesheet of the page, a quarter of a large
 * page's build. Until an element has the class `:hover`, the copied selectors match nothing, and without
 * device-width media features the rest of the rewrite changes nothing, so the frame is drawn the same; rrweb
 * sets the class only when it replays the mouse (a seek or playback). So: a frame with a hovered element gets
 * the rewrite's copies of the :hover selectors in its rules before it is drawn, and any play or seek waits for
 * the rewrite.
 */
export class HoverCss {
  private readonly cache: DeferringCache | null;
  /** The Replayer's own play and pause, while ours stand in front of them. */
  private own: Seeking | null = null;
  private idle: Idle = { cancel: () => undefined };
  /** Where the deferred stylesheets are in the frame. */
  private texts: Text[] = [];
  /** Whether rrweb set the class `:hover` while building the first frame. */
  private hovered = false;
  /** The style elements rrweb built for the first frame (a recorded <link> with its CSS becomes one). */
  private readonly styles: Node[] = [];

  /** Call right after the Replayer is made, before its first full snapshot is built. */
  constructor(private readonly replayer: Replayer) {
    const holder = (replayer as unknown as { cache?: { stylesWithHoverClass?: unknown } }).cache;
    const hovering = replayer as unknown as Hovering;
    const ownHover = hovering.hoverElements;
    const mirror = replayer.getMirror() as unknown as Adding;
    const ownAdd = mirror.add;
    const known = holder?.stylesWithHoverClass instanceof Map;
    this.cache = known && ownHover && ownAdd ? new DeferringCache() : null;
    if (!holder || !this.cache || !ownHover || !ownAdd) return;
    holder.stylesWithHoverClass = this.cache;
    const cache = this.cache;
    hovering.hoverElements = (element: Element) => {
      // rrweb sets the class on the element and its ancestors: on none when the mouse was over the document.
      this.hovered ||= element.classList !== undefined || element.parentElement !== null;
      ownHover.call(replayer, element);
    };
    mirror.add = (node: Node, recorded: Recorded) => {
      if (recorded.type === ELEMENT && (recorded.tagName === "style" || typeof recorded.attributes?._cssText === "string")) {
        this.styles.push(node);
        rewriteSplit(recorded, cache);
      }
      ownAdd.call(mirror, node, recorded);
    };
  }

  /**
   * Call right after the seek that builds the first frame, in the same task: the rewrite is done at once if the
   * frame needs it, else it waits for `afterFirstFrame` or for the next play or seek, whichever comes first.
   */
  afterFirstBuild(): void {
    const cache = this.cache;
    if (!cache) return;
    cache.deferring = false;
    // The instance's own properties shadowed the prototype's methods: removing them restores rrweb's.
    delete (this.replayer as unknown as Hovering).hoverElements;
    delete (this.replayer.getMirror() as unknown as Adding).add;
    if (cache.deferred.size === 0) return;
    this.texts = this.styleTexts(cache.deferred);
    if (this.hovered) this.copyHoverRules();
    this.holdSeeks();
  }

  /** Once the first frame is on screen: the rewrite, when the page has nothing else to do. */
  afterFirstFrame(): void {
    if (this.cache?.deferred.size) this.idle = whenIdle(() => this.rewrite());
  }

  /**
   * The text nodes that hold a deferred stylesheet whole (those of a split stylesheet hold rewritten parts
   * already: rewriteSplit). A deferred stylesheet found nowhere left no trace: it is rewritten into the cache
   * all the same.
   */
  private styleTexts(deferred: Set<string>): Text[] {
    const texts: Text[] = [];
    for (const node of this.styles.splice(0)) {
      // Nodes of the frame's own window: not instances of this window's Text.
      for (const child of Array.from(node.childNodes)) {
        if (child.nodeType === Node.TEXT_NODE && deferred.has((child as Text).data)) texts.push(child as Text);
      }
    }
    return texts;
  }

  /**
   * A frame with a hovered element: rrweb's copies of the :hover selectors put into the deferred stylesheets'
   * rules in place, for this frame (a few ms), instead of rewriting their text first (postcss over all of it).
   * The text is rewritten as usual afterwards; it then replaces these rules with the same ones.
   */
  private copyHoverRules(): void {
    for (const text of this.texts) {
      const sheet = (text.parentNode as HTMLStyleElement | null)?.sheet;
      if (sheet) withHoverCopies(sheet.cssRules);
    }
  }

  /** rrweb's rewrite of each deferred stylesheet, into the frame and into its cache. */
  private rewrite(): void {
    const cache = this.cache;
    if (!cache || cache.deferred.size === 0) return;
    this.idle.cancel();
    this.releaseSeeks();
    const rewritten = new Map<string, string>();
    for (const css of cache.deferred) rewritten.set(css, cache.rewritten(css));
    cache.deferred.clear();
    for (const [css, adapted] of rewritten) cache.set(css, adapted);
    for (const text of this.texts) {
      const adapted = rewritten.get(text.data);
      if (adapted !== undefined) text.data = adapted;
    }
    this.texts = [];
  }

  /** Any play or seek (ours, rrweb's own, a test's) rewrites first: it may hover an element. */
  private holdSeeks(): void {
    const replayer = this.replayer;
    this.own = { play: replayer.play, pause: replayer.pause };
    const own = this.own;
    replayer.play = (timeOffset?: number) => {
      this.rewrite();
      own.play.call(replayer, timeOffset);
    };
    replayer.pause = (timeOffset?: number) => {
      this.rewrite();
      own.pause.call(replayer, timeOffset);
    };
  }

  private releaseSeeks(): void {
    if (!this.own) return;
    // The instance's own properties shadowed the prototype's methods: removing them restores rrweb's.
    delete (this.replayer as Partial<Seeking>).play;
    delete (this.replayer as Partial<Seeking>).pause;
    this.own = null;
  }
}

