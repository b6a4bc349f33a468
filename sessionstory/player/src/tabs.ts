// The visitor's tabs: their sessions open at the same time as this one (the SDK records one session per
// tab), shown above the replay when there is more than one. A click opens that tab's replay at the same
// moment of the visitor's time. Every URL here is visitor data: only ever set as text or as an attribute.
import { shortUrl } from "./describe";
import { h } from "./dom";
import { text } from "./story";
import { formatTime } from "./time";

export interface VisitorTab {
  id: string;
  /** When it started, in ms from this session's start (negative: before it). */
  offset: number;
  duration: number;
  entryUrl: string;
  current: boolean;
}

/** The server's list, checked one by one. */
export function readTabs(body: unknown): VisitorTab[] {
  if (!Array.isArray(body)) return [];
  const tabs: VisitorTab[] = [];
  for (const raw of body) {
    if (typeof raw !== "object" || raw === null) continue;
    const t = raw as Record<string, unknown>;
    if (typeof t.id !== "string" || typeof t.offset_ms !== "number" || typeof t.duration_ms !== "number") continue;
    tabs.push({ id: t.id, offset: t.offset_ms, duration: t.duration_ms, entryUrl: text(t.entry_url), current: t.current === true });
  }
  return tabs;
}

/** The moment `playhead` (ms into this session) in the other tab's own time, within its length. */
export function momentIn(tab: VisitorTab, playhead: number): number {
  return Math.round(Math.min(tab.duration, Math.max(0, playhead - tab.offset)));
}

/** The other tab's replay page: this page's address with its id, at `ms`. */
export function tabHref(tab: VisitorTab, ms: number): string {
  return `${location.pathname.replace(/[^/]*$/, encodeURIComponent(tab.id))}?t=${ms}`;
}

export class TabStrip {
  readonly element: HTMLElement;

  /**
   * `playhead` is read when a tab is picked, so the other tab opens at the moment being watched. The tabs are
   * asked for by start(), once the first frame is on screen: their answer would otherwise land in the middle of it.
   */
  constructor(
    private readonly url: string,
    private readonly playhead: () => number,
    private readonly home: () => string,
  ) {
    this.element = h("nav", { class: "ss-tabstrip", "aria-label": "The visitor's tabs at this time", hidden: "" });
  }

  start(): void {
    void this.load(this.url);
  }

  private async load(url: string): Promise<void> {
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      this.show(readTabs(await response.json()));
    } catch (error) {
      console.warn("SessionStory player: could not load the visitor's tabs:", error);
    }
  }

  private show(tabs: VisitorTab[]): void {
    if (tabs.length < 2) return; // one tab: nothing to switch to, nothing to show
    const items = tabs.map((tab, i) => this.item(tab, i + 1));
    this.element.replaceChildren(h("span", { class: "ss-tabstrip-label" }, [`${tabs.length} tabs open:`]), ...items);
    this.element.hidden = false;
  }

  private item(tab: VisitorTab, n: number): HTMLElement {
    const name = `Tab ${n}`;
    const where = shortUrl(tab.entryUrl, this.home()) || "(no page)";
    const started = tab.offset === 0 ? "this tab" : `opened ${formatTime(Math.abs(tab.offset))} ${tab.offset < 0 ? "before" : "after"} this one`;
    if (tab.current) {
      return h("span", { class: "ss-tabstrip-tab ss-tabstrip-current", "aria-current": "page", title: tab.entryUrl }, [name, " · ", where]);
    }
    const link = h("a", { class: "ss-tabstrip-tab", href: tabHref(tab, momentIn(tab, 0)), title: `${tab.entryUrl} (${started})`, "data-session-id": tab.id }, [
      name,
      " · ",
      where,
    ]);
    // The address is made when the tab is picked: the playhead has moved since the strip was drawn.
    const aim = (): void => link.setAttribute("href", tabHref(tab, momentIn(tab, this.playhead())));
    link.addEventListener("pointerdown", aim);
    link.addEventListener("focus", aim);
    link.addEventListener("click", aim);
    return link;
  }
}
