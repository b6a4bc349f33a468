// The inspector: the panels in tabs (WAI-ARIA tabs pattern: arrow keys move between tabs).
import { h } from "./dom";
import type { Panel } from "./panel-kit";

const STORAGE_KEY = "sessionstory.player.tab";

let ids = 0;

export class Inspector {
  readonly element: HTMLElement;
  private readonly tabs: HTMLButtonElement[];
  private readonly counts: HTMLElement[];
  private readonly bodies: HTMLElement[];
  private active = -1;
  private time = 0;

  constructor(private readonly panels: Panel[], fallback: string) {
    const prefix = `ss-tab${++ids}`;
    this.counts = panels.map(() => h("span", { class: "ss-count" }));
    this.tabs = panels.map((p, i) =>
      h(
        "button",
        {
          type: "button",
          role: "tab",
          class: "ss-tab",
          id: `${prefix}-${p.id}`,
          "aria-controls": `${prefix}-${p.id}-panel`,
          "aria-selected": "false",
          tabindex: "-1",
        },
        [p.title, " ", this.counts[i]], // the space keeps the accessible name "Console 3", not "Console3"
      ),
    );
    this.bodies = panels.map((p) =>
      h("div", { role: "tabpanel", class: "ss-tabpanel", id: `${prefix}-${p.id}-panel`, "aria-labelledby": `${prefix}-${p.id}`, hidden: "" }, [
        p.element,
      ]),
    );
    const tablist = h("div", { class: "ss-tabs", role: "tablist", "aria-label": "Session details" }, this.tabs);
    this.element = h("section", { class: "ss-inspector", "aria-label": "Session details" }, [
      h("div", { class: "ss-inspector-inner" }, [tablist, ...this.bodies]),
    ]);
    this.tabs.forEach((tab, i) => tab.addEventListener("click", () => this.select(i, true)));
    tablist.addEventListener("keydown", (event) => this.onKey(event));
    this.refreshCounts();
    const saved = this.saved();
    const first = panels.findIndex((p) => p.id === saved);
    this.select(first >= 0 ? first : Math.max(0, panels.findIndex((p) => p.id === fallback)), false);
  }

  /** Shows the panel `id` (e.g. after "jump to first error"). */
  show(id: string): void {
    const i = this.panels.findIndex((p) => p.id === id);
    if (i >= 0) this.select(i, false);
  }

  /** Only the visible panel is kept in step every frame; the others catch up when shown. */
  setTime(ms: number): void {
    this.time = ms;
    if (this.active >= 0) this.panels[this.active].setTime(ms);
  }

  /** After a seek the user asked for, the lists follow the playhead again. */
  follow(): void {
    for (const p of this.panels) p.follow();
  }

  refreshCounts(): void {
    this.panels.forEach((p, i) => {
      const n = p.count();
      this.counts[i].textContent = String(n);
      this.counts[i].classList.toggle("ss-count-bad", p.alarming());
      this.counts[i].classList.toggle("ss-count-zero", n === 0);
    });
  }

  private select(index: number, remember: boolean): void {
    if (index === this.active) return;
    this.active = index;
    this.tabs.forEach((tab, i) => {
      const on = i === index;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
      this.bodies[i].hidden = !on;
    });
    const panel = this.panels[index];
    panel.setTime(this.time);
    panel.shown();
    if (remember) {
      try {
        localStorage.setItem(STORAGE_KEY, panel.id);
      } catch {
        // storage may be disabled: the choice just is not remembered
      }
    }
  }

  private saved(): string | null {
    try {
      return localStorage.getItem(STORAGE_KEY);
    } catch {
      return null;
    }
  }

  private onKey(event: KeyboardEvent): void {
    const last = this.tabs.length - 1;
    let next = -1;
    if (event.key === "ArrowRight") next = this.active === last ? 0 : this.active + 1;
    else if (event.key === "ArrowLeft") next = this.active === 0 ? last : this.active - 1;
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = last;
    if (next < 0) return;
    event.preventDefault(); // not the player's "seek 5 s"
    this.select(next, true);
    this.tabs[next].focus();
  }
}
