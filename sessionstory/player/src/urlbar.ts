// The strip above the stage: which page the visitor was on at the current time, and at what size it is shown.
import { h } from "./dom";
import type { PageLoad } from "./events";
import type { Size } from "./scale";

export class UrlBar {
  readonly element: HTMLElement;
  private readonly url: HTMLElement;
  private readonly size: HTMLElement;

  constructor(private pageLoads: PageLoad[]) {
    // Plain text on purpose: a recorded href is visitor data and must never become a live link.
    this.url = h("span", { class: "ss-url" });
    this.size = h("span", { class: "ss-size" });
    this.element = h("div", { class: "ss-urlbar" }, [this.url, this.size]);
    this.setTime(0);
  }

  setTime(ms: number): void {
    const href = this.hrefAt(ms);
    if (this.url.textContent !== href) {
      this.url.textContent = href;
      this.url.title = href;
    }
  }

  setLoads(pageLoads: PageLoad[]): void {
    this.pageLoads = pageLoads;
  }

  setViewport(recorded: Size, scale: number): void {
    const percent = Math.round(scale * 100);
    this.size.textContent = `${recorded.width} × ${recorded.height}${percent < 100 ? ` · ${percent}%` : ""}`;
  }

  /** The page loaded last at or before `ms` (the first one before the first load). */
  private hrefAt(ms: number): string {
    let href = this.pageLoads.length ? this.pageLoads[0].href : "";
    for (const load of this.pageLoads) {
      if (load.time > ms) break;
      href = load.href;
    }
    return href;
  }
}
