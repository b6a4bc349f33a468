// The seek bar: a native range input (keyboard and screen-reader friendly) over a drawn track
// that shows progress, idle stretches and page loads.
import { idleGaps } from "./activity";
import { h } from "./dom";
import type { PageLoad } from "./events";
import { formatTime } from "./time";

export interface TimelineData {
  total: number;
  activity: number[];
  pageLoads: PageLoad[];
}

export class Timeline {
  readonly element: HTMLElement;
  readonly input: HTMLInputElement;
  private readonly fill: HTMLElement;
  private scrubbing = false;

  constructor(private readonly data: TimelineData, onSeek: (ms: number) => void) {
    this.fill = h("div", { class: "ss-track-fill" });
    const track = h("div", { class: "ss-track", "aria-hidden": "true" }, [
      ...this.idleSegments(),
      this.fill,
      ...this.pageLoadMarks(),
    ]);
    this.input = h("input", {
      class: "ss-seek",
      type: "range",
      min: "0",
      max: String(data.total),
      step: "any",
      value: "0",
      "aria-label": "Seek",
    });
    this.element = h("div", { class: "ss-timeline" }, [track, this.input]);
    this.listen(onSeek);
  }

  /** Shows `ms` as the current time, except while the user is dragging the thumb (their position wins). */
  setTime(ms: number): void {
    if (!this.scrubbing) this.input.value = String(ms);
    this.showProgress(this.scrubbing ? Number(this.input.value) : ms);
  }

  private listen(onSeek: (ms: number) => void): void {
    this.input.addEventListener("input", () => {
      const ms = Number(this.input.value);
      this.showProgress(ms);
      onSeek(ms);
    });
    this.input.addEventListener("pointerdown", () => {
      this.scrubbing = true;
    });
    const stop = (): void => {
      this.scrubbing = false;
    };
    // The pointer may be released anywhere on the page, not only over the bar.
    window.addEventListener("pointerup", stop);
    window.addEventListener("pointercancel", stop);
  }

  private showProgress(ms: number): void {
    this.fill.style.width = `${this.percent(ms)}%`;
    const text = `${formatTime(ms)} of ${formatTime(this.data.total)}`;
    // Only on change: this runs every frame while playing, and screen readers may announce each change.
    if (this.input.getAttribute("aria-valuetext") !== text) this.input.setAttribute("aria-valuetext", text);
  }

  private percent(ms: number): number {
    return this.data.total > 0 ? Math.min(100, Math.max(0, (ms / this.data.total) * 100)) : 0;
  }

  private idleSegments(): HTMLElement[] {
    return idleGaps(this.data.activity, this.data.total).map((gap) => {
      const left = this.percent(gap.start);
      const seg = h("div", { class: "ss-track-idle" });
      seg.style.left = `${left}%`;
      seg.style.width = `${this.percent(gap.end) - left}%`;
      return seg;
    });
  }

  /** A tick for every page load after the first, so navigations are easy to find. */
  private pageLoadMarks(): HTMLElement[] {
    return this.data.pageLoads.slice(1).map((load) => {
      const mark = h("div", { class: "ss-track-mark" });
      mark.style.left = `${this.percent(load.time)}%`;
      return mark;
    });
  }
}
