// The Steps panel: the session read as numbered steps to reproduce it, for a bug report. The server
// reads them (sessionstory/reproduce.py), so the list here, the copied text and the downloadable
// Playwright test say the same thing. Every step's text is visitor data: only ever set as text.
import { oneLine } from "./describe";
import { h } from "./dom";
import { Panel, type PanelContext } from "./panel-kit";
import { row, type Row } from "./rows";
import { text } from "./story";
import { formatTime } from "./time";

/** How long "Copied" stays on the button. */
const COPIED_MS = 2000;

export interface Step {
  n: number;
  /** ms after the session's first event, as the player counts. */
  at: number;
  text: string;
  kind: string;
}

/** Where the steps and the test are: `data-steps-url` if the page gives it, else beside the events. */
export function stepsUrl(root: HTMLElement): string | null {
  if (root.dataset.stepsUrl) return root.dataset.stepsUrl;
  const events = root.dataset.eventsUrl ?? "";
  return /\/events$/.test(events) ? events.replace(/\/events$/, "/steps") : null;
}

/** The Playwright test beside the steps; none on a shared page (data-steps-test="none"): it stays with the team. */
export function stepsTestUrl(root: HTMLElement): string | null {
  const url = stepsUrl(root);
  return url && root.dataset.stepsTest !== "none" ? `${url}.py` : null;
}

/** The server's answer, checked one by one: a malformed step is dropped, not trusted. */
export function readSteps(body: unknown): Step[] {
  const list = typeof body === "object" && body !== null ? (body as { steps?: unknown }).steps : null;
  if (!Array.isArray(list)) return [];
  const steps: Step[] = [];
  for (const s of list) {
    if (typeof s !== "object" || s === null) continue;
    const { n, at } = s as Record<string, unknown>;
    if (typeof n !== "number" || typeof at !== "number" || !Number.isFinite(at)) continue;
    const raw = s as Record<string, unknown>;
    steps.push({ n, at: Math.max(0, at), text: oneLine(text(raw.text), 400), kind: text(raw.kind) });
  }
  return steps;
}

export class StepsPanel extends Panel {
  private steps: Step[] = [];
  private readonly note: HTMLElement;
  private readonly copyButton: HTMLButtonElement;
  private readonly fallback: HTMLTextAreaElement;
  private asked = false;

  /** `onLoad` runs once the steps are in (asked for by start()), so the tab's count can follow. */
  constructor(private readonly url: string | null, testUrl: string | null, ctx: PanelContext, private readonly onLoad: () => void) {
    super("steps", "Steps", "No steps could be read from this session.", ctx);
    this.copyButton = h("button", { type: "button", class: "ss-btn ss-btn-text ss-copy-steps", disabled: "" }, ["Copy steps"]);
    this.copyButton.addEventListener("click", () => void this.copy());
    const download = h("a", { class: "ss-download", download: "", title: "A runnable test (Python, Playwright) that does what the visitor did" }, [
      "Download Playwright test",
    ]);
    if (testUrl) download.setAttribute("href", testUrl);
    else download.hidden = true;
    this.fallback = h("textarea", { class: "ss-steps-text", readonly: "", hidden: "", "aria-label": "Steps to copy" });
    this.toolbar.append(this.copyButton, download);
    this.note = h("p", { class: "ss-note", role: "status" }, ["Loading steps…"]);
    this.toolbar.after(this.note, this.fallback);
    this.setRows([]);
    if (!url) this.note.textContent = "Steps are not available for this session.";
  }

  /**
   * Asks the server for the steps, once. Not before the first frame is on screen: the server reads the whole
   * session for them, work that would compete with opening it.
   */
  start(): void {
    if (!this.url || this.asked) return;
    this.asked = true;
    void this.load(this.url, this.onLoad);
  }

  count(): number {
    return this.steps.length;
  }

  protected keepToolbar(): boolean {
    return true;
  }

  private async load(url: string, onLoad: () => void): Promise<void> {
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      this.steps = readSteps(await response.json());
      this.note.hidden = true;
      this.copyButton.disabled = this.steps.length === 0;
      this.setRows(this.steps.map((s) => this.row(s)));
      onLoad();
    } catch (error) {
      console.warn("SessionStory player: could not load the session's steps:", error);
      this.note.textContent = "The steps could not be loaded.";
    }
  }

  private row(s: Step): Row {
    const body = [h("span", { class: "ss-step-n" }, [`${s.n}.`]), h("span", { class: "ss-step-text" }, [s.text])];
    return row(s.at, body, {
      class: `ss-row-step ss-step-${s.kind.replace(/[^a-z]/g, "")}`,
      search: s.text,
      label: `step ${s.n}: ${oneLine(s.text, 120)}`,
    });
  }

  /** Plain text, numbered, ready to paste into a bug report. */
  private plainText(): string {
    const lines = this.steps.map((s) => `${s.n}. ${s.text} (at ${formatTime(s.at)})`);
    return ["Steps to reproduce:", ...lines, "", `Recording: ${location.origin}${location.pathname}`, ""].join("\n");
  }

  /** The clipboard where the browser allows it; else the text, shown selected, for Ctrl+C. */
  private async copy(): Promise<void> {
    const plain = this.plainText();
    try {
      if (!navigator.clipboard) throw new Error("no clipboard");
      await navigator.clipboard.writeText(plain);
      this.fallback.hidden = true;
      this.copyButton.textContent = "Copied";
      window.setTimeout(() => (this.copyButton.textContent = "Copy steps"), COPIED_MS);
    } catch {
      this.fallback.value = plain;
      this.fallback.hidden = false;
      this.fallback.select();
    }
  }
}
