// The controls bar under the stage: timeline on top, then play/pause, time, "first error",
// skip-inactivity, speed, "copy link", keyboard help and full screen.
import { h, icon } from "./dom";
import { Popover } from "./popover";
import { formatTime } from "./time";
import type { Timeline } from "./timeline";

/** Playback speeds, 0.5x to 8x: each key 1–8 picks the speed it names (keyboard.ts). */
export const SPEEDS = [0.5, 1, 2, 3, 4, 5, 6, 7, 8];

export interface ControlActions {
  togglePlay(): void;
  setSpeed(speed: number): void;
  setSkipInactive(on: boolean): void;
  jumpToFirstError(): void;
  /** The link to the current moment. */
  linkHere(): string;
  toggleFullscreen(): void;
  /** Saves the current frame as a PNG; resolves with the file's name. */
  screenshot(): Promise<string>;
}

export type PlayState = "playing" | "paused" | "ended";

const svg = (body: string, size = 18): string =>
  `<svg viewBox="0 0 24 24" width="${size}" height="${size}">${body}</svg>`;
const stroke = 'fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"';

const ICONS: Record<PlayState, string> = {
  paused: svg('<path fill="currentColor" d="M8 5.5v13l10.5-6.5z"/>'),
  playing: svg('<path fill="currentColor" d="M7 5h3.5v14H7zm6.5 0H17v14h-3.5z"/>'),
  ended: svg('<path fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round" d="M4.5 12a7.5 7.5 0 1 0 2.2-5.3M4.5 4v4h4"/>'),
};
const ERROR_ICON = svg(`<path ${stroke} d="M12 3.5 2.5 20h19zM12 10v4.5M12 17.5v.01"/>`, 16);
const LINK_ICON = svg(`<path ${stroke} d="M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1"/>`, 16);
const CAMERA_ICON = svg(`<path ${stroke} d="M4 8h3l2-2.5h6L17 8h3v11H4z"/><circle ${stroke} cx="12" cy="13" r="3.5"/>`, 16);
const ENTER_FULL = svg(`<path ${stroke} d="M4 9V4h5M20 9V4h-5M4 15v5h5M20 15v5h-5"/>`);
const EXIT_FULL = svg(`<path ${stroke} d="M9 4v5H4M15 4v5h5M9 20v-5H4M15 20v-5h5"/>`);

// What the button will do, which is what a screen reader user needs to hear.
const LABELS: Record<PlayState, string> = { paused: "Play", playing: "Pause", ended: "Replay from start" };

/** How long "Copied" stays on the copy button. */
const COPIED_MS = 2000;

export class Controls {
  readonly element: HTMLElement;
  private readonly playButton: HTMLButtonElement;
  private readonly clock: HTMLElement;
  private readonly speed: HTMLSelectElement;
  private readonly errorButton: HTMLButtonElement;
  private readonly fullButton: HTMLButtonElement;
  private readonly help: Popover;
  private readonly status: HTMLElement;
  private state: PlayState | null = null;
  private shownTime = "";

  constructor(
    timeline: Timeline,
    private total: number,
    initial: { speed: number; skipInactive: boolean },
    private readonly actions: ControlActions,
  ) {
    this.playButton = h("button", { type: "button", class: "ss-btn ss-play" });
    this.playButton.addEventListener("click", () => actions.togglePlay());
    this.clock = h("span", { class: "ss-time" });
    this.speed = speedSelect(initial.speed, actions);
    this.errorButton = h(
      "button",
      { type: "button", class: "ss-btn ss-btn-text ss-first-error", title: "Jump to 2 s before the first JavaScript error" },
      [icon(ERROR_ICON), "First error"],
    );
    this.errorButton.addEventListener("click", () => actions.jumpToFirstError());
    this.fullButton = h("button", { type: "button", class: "ss-btn ss-fullscreen" });
    this.fullButton.addEventListener("click", () => actions.toggleFullscreen());
    this.setFullscreen(false);
    if (!document.fullscreenEnabled) this.fullButton.disabled = true;
    this.status = h("span", { class: "ss-visually-hidden", role: "status" });
    const helpButton = h("button", { type: "button", class: "ss-btn ss-help-btn", "aria-label": "Keyboard shortcuts", title: "Keyboard shortcuts (?)" }, ["?"]);
    this.help = new Popover(helpButton, "Keyboard shortcuts", shortcutList(), "ss-help");
    helpButton.addEventListener("click", () => this.help.toggle());
    const link = this.linkControls();
    const shot = this.screenshotButton();
    this.element = h("div", { class: "ss-controls" }, [
      timeline.element,
      h("div", { class: "ss-bar" }, [
        this.playButton,
        this.clock,
        h("span", { class: "ss-spacer" }),
        this.errorButton,
        skipToggle(initial.skipInactive, actions),
        this.speed,
        ...link,
        shot,
        helpButton,
        this.fullButton,
      ]),
      this.help.element,
      this.status,
    ]);
    this.setState("paused");
    this.setTime(0);
    this.setFirstError(false);
  }

  setState(state: PlayState): void {
    if (state === this.state) return;
    this.state = state;
    this.playButton.replaceChildren(icon(ICONS[state]));
    this.playButton.setAttribute("aria-label", LABELS[state]);
    this.playButton.title = `${LABELS[state]} (space)`;
  }

  setTotal(total: number): void {
    this.total = total;
  }

  setTime(ms: number): void {
    const text = `${formatTime(ms)} / ${formatTime(this.total)}`;
    if (text !== this.shownTime) this.clock.textContent = this.shownTime = text;
  }

  /** Shows a speed chosen elsewhere (the keys 1–8). */
  setSpeed(speed: number): void {
    this.speed.value = String(speed);
  }

  setFirstError(exists: boolean): void {
    this.errorButton.disabled = !exists;
    this.errorButton.title = exists ? "Jump to 2 s before the first JavaScript error" : "No JavaScript errors in this session";
  }

  setFullscreen(on: boolean): void {
    this.fullButton.replaceChildren(icon(on ? EXIT_FULL : ENTER_FULL));
    const label = on ? "Exit full screen" : "Full screen";
    this.fullButton.setAttribute("aria-label", label);
    this.fullButton.title = `${label} (f)`;
  }

  toggleHelp(): void {
    this.help.toggle();
  }

  /** "Screenshot" saves the frame on screen; says so (or why not) to screen readers and in its title. */
  private screenshotButton(): HTMLButtonElement {
    const idle = "Save the frame on screen as a PNG image";
    const button = h("button", { type: "button", class: "ss-btn ss-btn-text ss-screenshot", title: idle }, [
      icon(CAMERA_ICON),
      h("span", {}, ["Screenshot"]),
    ]);
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const name = await this.actions.screenshot();
        this.status.textContent = `Saved ${name}`;
        button.dataset.saved = name;
      } catch (error) {
        console.warn("SessionStory player: could not take a screenshot:", error);
        this.status.textContent = "The screenshot could not be made";
        button.title = `The screenshot could not be made: ${error instanceof Error ? error.message : String(error)}`;
      } finally {
        button.disabled = false;
      }
    });
    return button;
  }

  /** "Copy link" copies the link to the current moment; without clipboard access it shows the link, selected. */
  private linkControls(): HTMLElement[] {
    const button = h("button", { type: "button", class: "ss-btn ss-btn-text ss-copy", title: "Copy a link that opens the replay at this moment" }, [
      icon(LINK_ICON),
      h("span", {}, ["Copy link"]),
    ]);
    const label = button.lastElementChild as HTMLElement;
    const field = h("input", { type: "text", class: "ss-link-field", readonly: "", "aria-label": "Link to this moment" });
    const hint = h("p", { class: "ss-pop-hint" }, ["Press Ctrl+C (⌘C on a Mac) to copy."]);
    const pop = new Popover(button, "Link to this moment", [h("p", { class: "ss-pop-title" }, ["Link to this moment"]), field, hint], "ss-link-pop");
    let reset = 0;
    const copied = (): void => {
      label.textContent = "Copied";
      this.status.textContent = "Link copied";
      window.clearTimeout(reset);
      reset = window.setTimeout(() => {
        label.textContent = "Copy link";
        this.status.textContent = "";
      }, COPIED_MS);
    };
    button.addEventListener("click", async () => {
      if (pop.isOpen) return pop.close(true);
      const url = this.actions.linkHere();
      try {
        if (!navigator.clipboard) throw new Error("no clipboard");
        await navigator.clipboard.writeText(url);
        copied();
      } catch {
        field.value = url;
        pop.open(field);
        field.select();
        // The old way still works where the clipboard API is missing (plain http on a LAN address).
        let ok = false;
        try {
          ok = document.execCommand("copy");
        } catch {
          ok = false;
        }
        if (ok) copied();
        hint.textContent = ok ? "Copied. You can also select and copy it yourself." : "Press Ctrl+C (⌘C on a Mac) to copy.";
      }
    });
    return [button, pop.element];
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

function speedSelect(speed: number, actions: ControlActions): HTMLSelectElement {
  const select = h(
    "select",
    { class: "ss-speed", "aria-label": "Playback speed", title: "Playback speed (keys 1–8)" },
    SPEEDS.map((s) => h("option", { value: String(s) }, [`${s}x`])),
  );
  select.value = String(speed);
  select.addEventListener("change", () => actions.setSpeed(Number(select.value)));
  return select;
}

function shortcutList(): Node[] {
  const keys: [string[], string][] = [
    [["Space"], "Play / pause"],
    [["←", "→"], "Back / forward 5 seconds"],
    [["1–8"], "Speed 1x to 8x, as the key says (0.5x from the menu)"],
    [["F"], "Full screen on / off"],
    [["?"], "This list"],
  ];
  const rows = keys.map(([ks, what]) =>
    h("div", { class: "ss-keys-row" }, [
      h("dt", {}, ks.flatMap((k, i) => (i ? [" ", h("kbd", {}, [k])] : [h("kbd", {}, [k])]))),
      h("dd", {}, [what]),
    ]),
  );
  const marks: [string, string][] = [
    ["comment", "Comment"],
    ["error", "JavaScript error"],
    ["error-click", "Error click"],
    ["network", "Failed request"],
    ["console", "Console error"],
    ["rage", "Rage click"],
    ["dead", "Dead click"],
    ["signal", "Other frustration"],
    ["custom", "Custom event"],
    ["page", "Page view"],
    ["click", "Click"],
  ];
  return [
    h("p", { class: "ss-pop-title" }, ["Keyboard shortcuts"]),
    h("dl", { class: "ss-keys" }, rows),
    h("p", { class: "ss-pop-hint" }, [
      "On the timeline's marks and in the panels' lists, arrow keys move and Enter jumps to that moment.",
    ]),
    h("p", { class: "ss-pop-title ss-pop-subtitle" }, ["Marks on the timeline"]),
    h(
      "ul",
      { class: "ss-legend" },
      marks.map(([kind, what]) => h("li", {}, [h("span", { class: `ss-dot ss-mark-${kind}`, "aria-hidden": "true" }), what])),
    ),
  ];
}
