// The controls bar under the stage: timeline on top, then play/pause, time, skip-inactivity and speed.
import { h, icon } from "./dom";
import { formatTime } from "./time";
import type { Timeline } from "./timeline";

export const SPEEDS = [1, 2, 4, 8];

export interface ControlActions {
  togglePlay(): void;
  setSpeed(speed: number): void;
  setSkipInactive(on: boolean): void;
}

export type PlayState = "playing" | "paused" | "ended";

const ICONS: Record<PlayState, string> = {
  paused: '<svg viewBox="0 0 24 24" width="18" height="18"><path fill="currentColor" d="M8 5.5v13l10.5-6.5z"/></svg>',
  playing:
    '<svg viewBox="0 0 24 24" width="18" height="18"><path fill="currentColor" d="M7 5h3.5v14H7zm6.5 0H17v14h-3.5z"/></svg>',
  ended:
    '<svg viewBox="0 0 24 24" width="18" height="18"><path fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round" d="M4.5 12a7.5 7.5 0 1 0 2.2-5.3M4.5 4v4h4"/></svg>',
};

// What the button will do, which is what a screen reader user needs to hear.
const LABELS: Record<PlayState, string> = { paused: "Play", playing: "Pause", ended: "Replay from start" };

export class Controls {
  readonly element: HTMLElement;
  private readonly playButton: HTMLButtonElement;
  private readonly clock: HTMLElement;
  private state: PlayState | null = null;
  private shownTime = "";

  constructor(
    timeline: Timeline,
    private readonly total: number,
    initial: { speed: number; skipInactive: boolean },
    actions: ControlActions,
  ) {
    this.playButton = h("button", { type: "button", class: "ss-btn ss-play" });
    this.playButton.addEventListener("click", () => actions.togglePlay());
    this.clock = h("span", { class: "ss-time" });
    this.element = h("div", { class: "ss-controls" }, [
      timeline.element,
      h("div", { class: "ss-bar" }, [
        this.playButton,
        this.clock,
        h("span", { class: "ss-spacer" }),
        skipToggle(initial.skipInactive, actions),
        speedSelect(initial.speed, actions),
      ]),
    ]);
    this.setState("paused");
    this.setTime(0);
  }

  setState(state: PlayState): void {
    if (state === this.state) return;
    this.state = state;
    this.playButton.replaceChildren(icon(ICONS[state]));
    this.playButton.setAttribute("aria-label", LABELS[state]);
    this.playButton.title = `${LABELS[state]} (space)`;
  }

  setTime(ms: number): void {
    const text = `${formatTime(ms)} / ${formatTime(this.total)}`;
    if (text !== this.shownTime) this.clock.textContent = this.shownTime = text;
  }
}

function skipToggle(on: boolean, actions: ControlActions): HTMLElement {
  const box = h("input", { type: "checkbox", class: "ss-switch", role: "switch" });
  box.checked = on;
  box.addEventListener("change", () => actions.setSkipInactive(box.checked));
  return h("label", { class: "ss-skip", title: "Fast-forward through stretches where the visitor did nothing" }, [
    box,
    "Skip inactivity",
  ]);
}

function speedSelect(speed: number, actions: ControlActions): HTMLElement {
  const select = h(
    "select",
    { class: "ss-speed", "aria-label": "Playback speed", title: "Playback speed" },
    SPEEDS.map((s) => h("option", { value: String(s) }, [`${s}x`])),
  );
  select.value = String(speed);
  select.addEventListener("change", () => actions.setSpeed(Number(select.value)));
  return select;
}
