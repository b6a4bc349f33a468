// A list of timed rows that follows the playhead: rows still to come are dimmed, the latest one that
// happened is marked current and kept in view (unless the user scrolled the list), clicking one seeks there.
import { h } from "./dom";
import { formatTime } from "./time";

export interface Row {
  time: number;
  element: HTMLElement;
  /** Lower-case text the search box matches against. */
  search: string;
  /** Whether the panel's other filters (level, kind…) let it through. */
  shown: boolean;
  /** The focusable time button: the row's keyboard handle. */
  handle: HTMLButtonElement;
}

/** Builds one row: its time (a button that seeks there) and its body. */
export function row(time: number, body: Node[], opts: { class?: string; search: string; label: string }): Row {
  const handle = h("button", {
    type: "button",
    class: "ss-row-time",
    tabindex: "-1",
    "aria-label": `${formatTime(time)}, ${opts.label}. Jump there`,
  }, [formatTime(time)]);
  const element = h("li", { class: `ss-row${opts.class ? ` ${opts.class}` : ""}` }, [
    handle,
    h("div", { class: "ss-row-body" }, body),
  ]);
  return { time, element, search: opts.search.toLowerCase(), shown: true, handle };
}

/** Lists longer than this render only the rows near view (player.css: .ss-many). */
const MANY_ROWS = 200;

/** After the user scrolls a list by hand, it stops following the playhead until asked to again. */
const USER_SCROLL_KEYS = new Set(["PageUp", "PageDown", "Home", "End", "ArrowUp", "ArrowDown"]);

export class RowList {
  readonly element: HTMLElement;
  private readonly list: HTMLElement;
  private readonly empty: HTMLElement;
  private readonly followButton: HTMLButtonElement;
  private rows: Row[] = [];
  private query = "";
  /** How many rows (in time order) are at or before the playhead. */
  private past = 0;
  private current: Row | null = null;
  private following = true;
  private time = 0;

  constructor(
    label: string,
    private readonly emptyText: string,
    private readonly onSeek: (ms: number) => void,
  ) {
    this.list = h("ol", { class: "ss-rows", "aria-label": label });
    this.empty = h("p", { class: "ss-empty", hidden: "" });
    this.followButton = h("button", { type: "button", class: "ss-follow", hidden: "" }, ["Follow playhead"]);
    this.followButton.addEventListener("click", () => {
      this.follow();
      this.current?.handle.focus({ preventScroll: true });
    });
    this.element = h("div", { class: "ss-scroller" }, [this.list, this.empty, this.followButton]);
    this.listen();
  }

  /** Replaces the rows (sorted by time here). */
  setRows(rows: Row[]): void {
    this.rows = rows.slice().sort((a, b) => a.time - b.time);
    this.list.replaceChildren(...this.rows.map((r) => r.element));
    this.list.classList.toggle("ss-many", this.rows.length > MANY_ROWS);
    this.past = 0;
    this.current = null;
    for (const r of this.rows) r.element.classList.add("ss-future");
    this.applyFilter();
    this.setTime(this.time);
  }

  /** Re-applies the search text and each row's `shown` (set by the panel's own filters). */
  filter(query: string = this.query): void {
    this.query = query.trim().toLowerCase();
    this.applyFilter();
  }

  /** Marks rows past/future for `ms` and keeps the current row in view. Cheap when nothing changed. */
  setTime(ms: number): void {
    this.time = ms;
    const past = this.countUpTo(ms);
    if (past !== this.past) {
      const [from, to] = past > this.past ? [this.past, past] : [past, this.past];
      for (let i = from; i < to; i++) this.rows[i].element.classList.toggle("ss-future", i >= past);
      this.past = past;
    }
    this.markCurrent();
  }

  /** Follow the playhead again (after a seek the user asked for). */
  follow(): void {
    this.following = true;
    this.followButton.hidden = true;
    this.reveal();
  }

  /** Called when the list becomes visible: scroll positions are only known then. */
  shown(): void {
    this.reveal();
  }

  private listen(): void {
    this.list.addEventListener("click", (event) => {
      const target = event.target as Element;
      if (target.closest(".ss-row-body button, .ss-row-body a, .ss-row-body summary")) return; // the row's own controls
      const li = target.closest("li.ss-row");
      const r = li && this.rows.find((x) => x.element === li);
      if (!r) return;
      // Selecting text to copy it is not a click on the row.
      const selection = window.getSelection();
      if (selection && !selection.isCollapsed && li.contains(selection.anchorNode)) return;
      this.moveFocusTo(r, false);
      this.onSeek(r.time);
      this.follow();
    });
    this.list.addEventListener("keydown", (event) => {
      const index = this.rows.findIndex((r) => r.handle === event.target);
      if (index < 0) return;
      const visible = this.rows.filter((r) => !r.element.hidden);
      const at = visible.indexOf(this.rows[index]);
      let next: Row | undefined;
      if (event.key === "ArrowDown") next = visible[at + 1];
      else if (event.key === "ArrowUp") next = visible[at - 1];
      else if (event.key === "Home") next = visible[0];
      else if (event.key === "End") next = visible[visible.length - 1];
      else return;
      event.preventDefault();
      if (next) this.moveFocusTo(next, true);
    });
    const byHand = (): void => {
      if (!this.following) return;
      this.following = false;
      this.followButton.hidden = false;
    };
    this.element.addEventListener("wheel", byHand, { passive: true });
    this.element.addEventListener("touchmove", byHand, { passive: true });
    this.element.addEventListener("keydown", (event) => {
      if (USER_SCROLL_KEYS.has(event.key)) byHand();
    });
    // A press on the scrollbar targets the scroller itself.
    this.element.addEventListener("pointerdown", (event) => {
      if (event.target === this.element) byHand();
    });
  }

  /** Roving focus: one row's time button is in the tab order at a time. */
  private moveFocusTo(r: Row, focus: boolean): void {
    for (const x of this.rows) if (x.handle.tabIndex === 0 && x !== r) x.handle.tabIndex = -1;
    r.handle.tabIndex = 0;
    if (focus) {
      r.handle.focus({ preventScroll: true });
      this.scrollTo(r, false);
    }
  }

  private applyFilter(): void {
    let visible = 0;
    for (const r of this.rows) {
      const show = r.shown && (!this.query || r.search.includes(this.query));
      r.element.hidden = !show;
      if (show) visible++;
    }
    this.empty.hidden = visible > 0;
    this.empty.textContent = this.rows.length === 0 ? this.emptyText : "Nothing matches.";
    // Keep one row tabbable: the focused one if still visible, else the first visible.
    const tabbable = this.rows.find((r) => r.handle.tabIndex === 0 && !r.element.hidden);
    if (!tabbable) {
      const first = this.rows.find((r) => !r.element.hidden);
      if (first) this.moveFocusTo(first, false);
    }
    this.current = null;
    this.markCurrent();
  }

  /** The current row: the last visible one at or before the playhead. */
  private markCurrent(): void {
    let next: Row | null = null;
    for (let i = this.past - 1; i >= 0; i--) {
      if (!this.rows[i].element.hidden) {
        next = this.rows[i];
        break;
      }
    }
    if (next === this.current) return;
    if (this.current) {
      this.current.element.classList.remove("ss-current");
      this.current.element.removeAttribute("aria-current");
    }
    this.current = next;
    if (next) {
      next.element.classList.add("ss-current");
      next.element.setAttribute("aria-current", "true");
      // Tabbing into the list lands on the current row, unless the user is moving through the list.
      if (!this.list.contains(document.activeElement)) this.moveFocusTo(next, false);
    }
    this.reveal();
  }

  /** Scrolls the current row into view, if following. Only the list scrolls, never the page. */
  private reveal(): void {
    if (!this.following || this.element.clientHeight === 0) return;
    if (this.current) this.scrollTo(this.current, true);
    else if (this.time <= 0 || this.past === 0) this.element.scrollTop = 0;
  }

  private scrollTo(r: Row, centre: boolean): void {
    const box = this.element;
    const top = r.element.offsetTop;
    const bottom = top + r.element.offsetHeight;
    if (top >= box.scrollTop && bottom <= box.scrollTop + box.clientHeight) return;
    box.scrollTop = centre ? top - (box.clientHeight - r.element.offsetHeight) / 2 : top < box.scrollTop ? top : bottom - box.clientHeight;
  }

  /** Rows at or before `ms` (binary search: a session can hold thousands). */
  private countUpTo(ms: number): number {
    let lo = 0;
    let hi = this.rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.rows[mid].time <= ms) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
