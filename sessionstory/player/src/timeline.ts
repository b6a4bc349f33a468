// The seek bar: a native range input (keyboard and screen-reader friendly) over a drawn track
// that shows progress and idle stretches, with a lane of markers above it (errors, clicks, pages…).
import { idleGaps } from "./activity";
import { h } from "./dom";
import { MARKER_RANK, type Marker } from "./markers";
import { formatTime } from "./time";

export interface TimelineData {
  total: number;
  activity: number[];
}

/** Marks within this many pixels of the pointer count as under it (they are 6–10 px wide). */
const NEAR_PX = 6;
/** At most this many lines in a tooltip; the rest are counted. */
const TIP_LINES = 5;
/**
 * The track is inset by half the thumb, so 0% and 100% sit under the thumb's centre; so is the lane of marks, by
 * its margin in player.css (its own box already spans 0% to 100%).
 */
const INSET_PX = 7;
/**
 * Marks of one kind within one of this many equal slots of the session are one stop on the lane, drawn at the
 * first: a long session has thousands of marks (a click every two seconds for an hour), which overlap on any
 * screen anyway, and each drawn mark cost the page style and layout right after the first frame (1,767 marks:
 * 31 ms to insert, as much again to draw).
 */
const LANE_SLOTS = 480;

export class Timeline {
  readonly element: HTMLElement;
  readonly input: HTMLInputElement;
  private readonly fill: HTMLElement;
  private readonly track: HTMLElement;
  private readonly lane: HTMLElement;
  private readonly tip: HTMLElement;
  private markers: Marker[] = [];
  /** The marks each button stands for: one kind, one slot, in time order. */
  private stops: Marker[][] = [];
  private buttons: HTMLButtonElement[] = [];
  private scrubbing = false;

  constructor(
    private data: TimelineData,
    private readonly onSeek: (ms: number) => void,
  ) {
    this.fill = h("div", { class: "ss-track-fill" });
    const track = (this.track = h("div", { class: "ss-track", "aria-hidden": "true" }, [...this.idleSegments(), this.fill]));
    this.input = h("input", {
      class: "ss-seek",
      type: "range",
      min: "0",
      max: String(data.total),
      step: "any",
      value: "0",
      "aria-label": "Seek",
    });
    this.lane = h("div", {
      class: "ss-marks",
      role: "toolbar",
      "aria-label": "Events on the timeline (arrow keys move, Enter jumps there)",
    });
    this.tip = h("div", { class: "ss-tip", role: "tooltip", hidden: "" });
    this.element = h("div", { class: "ss-scrubber" }, [
      this.lane,
      h("div", { class: "ss-timeline" }, [track, this.input]),
      this.tip,
    ]);
    this.listen();
    this.listenLane();
  }

  /** A new length or new idle stretches (a long session's later parts have arrived). */
  setData(data: TimelineData): void {
    this.data = data;
    this.input.max = String(data.total);
    this.track.replaceChildren(...this.idleSegments(), this.fill);
    this.placeMarks();
  }

  /** Shows `ms` as the current time, except while the user is dragging the thumb (their position wins). */
  setTime(ms: number): void {
    if (!this.scrubbing) this.input.value = String(ms);
    this.showProgress(this.scrubbing ? Number(this.input.value) : ms);
  }

  /** Replaces the marks (they come in two steps: the events' own at once, the server's moments later). */
  setMarkers(markers: Marker[]): void {
    const focused = this.buttons.indexOf(document.activeElement as HTMLButtonElement);
    this.markers = markers;
    this.stops = laneStops(markers, this.data.total);
    // Each stop is a bare button placed by CSS from its time (--at) and the lane's length (--total), so a longer
    // session moves them all without touching one; the lane listens for all.
    this.buttons = this.stops.map((stop, i) => {
      const first = stop[0];
      const more = stop.length > 1 ? ` (and ${stop.length - 1} more)` : "";
      const button = h("button", {
        type: "button",
        class: `ss-mark ss-mark-${first.kind}`,
        tabindex: i === 0 ? "0" : "-1",
        "aria-label": `${formatTime(first.time)} ${first.label}${more}`,
      });
      button.style.setProperty("--at", String(first.time));
      return button;
    });
    this.lane.replaceChildren(...this.buttons);
    this.lane.hidden = markers.length === 0;
    this.placeMarks();
    if (focused >= 0 && this.buttons.length) this.buttons[Math.min(focused, this.buttons.length - 1)].focus();
  }

  /** The marks' positions follow the session's length (player.css: left = --at / --total of the lane). */
  private placeMarks(): void {
    this.lane.style.setProperty("--total", String(Math.max(1, this.data.total)));
  }

  /** The marks of the stop a lane event came from, if any. */
  private stopOf(target: EventTarget | null): Marker[] | null {
    const index = this.buttons.indexOf(target as HTMLButtonElement);
    return index < 0 ? null : this.stops[index];
  }

  private listen(): void {
    this.input.addEventListener("input", () => {
      const ms = Number(this.input.value);
      this.showProgress(ms);
      this.onSeek(ms);
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
    // Hovering the bar shows the time under the pointer, as video players do.
    this.input.addEventListener("pointermove", (event) => {
      const ms = this.timeAt(event.clientX, this.input, INSET_PX);
      this.showTip([], ms);
    });
    this.input.addEventListener("pointerleave", () => this.hideTip());
  }

  private listenLane(): void {
    this.lane.addEventListener("pointermove", (event) => {
      const near = this.near(event.clientX);
      if (near.length) this.showTip(near, near[0].time);
      else this.showTip([], this.timeAt(event.clientX, this.lane, 0));
    });
    this.lane.addEventListener("pointerleave", () => this.hideTip());
    // The marks ignore the pointer (they are small and overlap): the lane finds the one meant.
    this.lane.addEventListener("click", (event) => {
      if (event.detail === 0) {
        // A keyboard "click" (Enter, Space) on the focused stop: its first mark's time, not the one under the pointer.
        const stop = this.stopOf(event.target);
        if (stop) this.onSeek(stop[0].time);
        return;
      }
      const near = this.near(event.clientX);
      this.onSeek(near.length ? near[0].time : this.timeAt(event.clientX, this.lane, 0));
    });
    this.lane.addEventListener("focusin", (event) => {
      const stop = this.stopOf(event.target);
      if (stop) this.showTip(stop, stop[0].time);
    });
    this.lane.addEventListener("focusout", () => this.hideTip());
    this.lane.addEventListener("keydown", (event) => {
      const index = this.buttons.indexOf(event.target as HTMLButtonElement);
      if (index < 0) return;
      let next = -1;
      if (event.key === "ArrowRight" || event.key === "ArrowDown") next = Math.min(this.buttons.length - 1, index + 1);
      else if (event.key === "ArrowLeft" || event.key === "ArrowUp") next = Math.max(0, index - 1);
      else if (event.key === "Home") next = 0;
      else if (event.key === "End") next = this.buttons.length - 1;
      if (next < 0) return;
      event.preventDefault(); // the player's own arrow keys (seek 5 s) must not fire too
      this.buttons[index].tabIndex = -1;
      this.buttons[next].tabIndex = 0;
      this.buttons[next].focus();
    });
  }

  /** The marks within NEAR_PX of clientX, most telling (then nearest) first. */
  private near(clientX: number): Marker[] {
    const box = this.lane.getBoundingClientRect();
    const width = box.width;
    if (width <= 0 || this.data.total <= 0) return [];
    const x = clientX - box.left;
    const dt = (NEAR_PX / width) * this.data.total;
    const at = (x / width) * this.data.total;
    const found = this.markers.filter((m) => Math.abs(m.time - at) <= dt);
    return found.sort((a, b) => MARKER_RANK[a.kind] - MARKER_RANK[b.kind] || Math.abs(a.time - at) - Math.abs(b.time - at));
  }

  /** The time under clientX on `el`, whose 0% and 100% lie `inset` px inside its box. */
  private timeAt(clientX: number, el: HTMLElement, inset: number): number {
    const box = el.getBoundingClientRect();
    const width = box.width - 2 * inset;
    if (width <= 0) return 0;
    const share = Math.min(1, Math.max(0, (clientX - box.left - inset) / width));
    return share * this.data.total;
  }

  /** A tooltip over `ms`: the marks' labels, or just the time. Text only: labels are visitor data. */
  private showTip(marks: Marker[], ms: number): void {
    const lines: Node[] = [];
    for (const m of marks.slice(0, TIP_LINES)) {
      lines.push(
        h("div", { class: "ss-tip-line" }, [
          h("span", { class: `ss-tip-dot ss-mark-${m.kind}`, "aria-hidden": "true" }),
          h("span", { class: "ss-tip-time" }, [formatTime(m.time)]),
          h("span", { class: "ss-tip-text" }, [m.label]),
        ]),
      );
    }
    if (marks.length > TIP_LINES) lines.push(h("div", { class: "ss-tip-more" }, [`and ${marks.length - TIP_LINES} more`]));
    if (!lines.length) lines.push(h("span", { class: "ss-tip-time" }, [formatTime(ms)]));
    this.tip.replaceChildren(...lines);
    this.tip.classList.toggle("ss-tip-plain", marks.length === 0);
    this.tip.hidden = false;
    // Centred over the time, kept inside the player.
    const width = this.element.clientWidth;
    const x = INSET_PX + (this.percent(ms) / 100) * (width - 2 * INSET_PX);
    const tipWidth = this.tip.offsetWidth;
    this.tip.style.left = `${Math.round(Math.min(Math.max(0, x - tipWidth / 2), Math.max(0, width - tipWidth)))}px`;
  }

  private hideTip(): void {
    const focused = this.buttons.indexOf(document.activeElement as HTMLButtonElement);
    if (focused >= 0) this.showTip(this.stops[focused], this.stops[focused][0].time);
    else this.tip.hidden = true;
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
}

/** The lane's stops: the marks (in time order) grouped by kind within each of LANE_SLOTS slots of `total`. */
function laneStops(markers: Marker[], total: number): Marker[][] {
  if (total <= 0) return markers.map((m) => [m]);
  const slot = total / LANE_SLOTS;
  const stops = new Map<string, Marker[]>();
  for (const m of markers) {
    const key = `${m.kind} ${Math.floor(m.time / slot)}`;
    const stop = stops.get(key);
    if (stop) stop.push(m);
    else stops.set(key, [m]);
  }
  return [...stops.values()];
}
