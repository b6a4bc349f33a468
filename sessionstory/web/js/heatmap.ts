// Entry point of heatmap.js: mounts a click heatmap on every .ss-heatmap the dashboard rendered.
// <div class="ss-heatmap" data-events-url="…/events" data-at-ms="1234" data-data-url="/api/v1/heatmap?…">
import { h } from "../../player/src/dom";
import { checkData } from "./heatmap-data";
import { checkEvents } from "./heatmap-page";
import { HeatmapView } from "./heatmap-view";
import { fetchJson, LoadError } from "./http";
import { mountEach } from "./mount";
import { adoptStyles } from "./styles";

function showMessage(root: HTMLElement, text: string, role: "status" | "alert"): void {
  root.replaceChildren(h("div", { class: "ss-hm-message", role }, [text]));
}

/** A number from a data attribute, or null when absent or not a number. */
function attrNumber(value: string | undefined): number | null {
  const raw = (value ?? "").trim();
  const n = raw === "" ? NaN : Number(raw);
  return Number.isFinite(n) ? n : null;
}

async function mount(root: HTMLElement): Promise<void> {
  root.setAttribute("aria-busy", "true");
  showMessage(root, "Loading heatmap…", "status");
  try {
    const dataUrl = root.dataset.dataUrl;
    if (!dataUrl) throw new LoadError("Could not load the heatmap (no data URL).");
    const data = checkData(await fetchJson(dataUrl, "the heatmap"));
    const snap = data.snapshot;
    if (!snap) {
      showMessage(root, "No recording of this page yet", "status");
      root.dataset.ready = "error";
      return;
    }
    // The events URL and its time offset come as a pair from the page; the API's snapshot is the fallback.
    const eventsUrl = root.dataset.eventsUrl || `/api/v1/sessions/${encodeURIComponent(snap.session_id)}/events`;
    const atMs = (root.dataset.eventsUrl ? attrNumber(root.dataset.atMs) : null) ?? snap.at_ms;
    const view = new HeatmapView(root, data);
    const events = checkEvents(await fetchJson(eventsUrl, "the recording of this page"));
    await view.open(events, atMs);
    // For debugging and for tests: the live rrweb Replayer.
    (root as HTMLElement & { replayer?: unknown }).replayer = view.replayer;
    root.dataset.ready = "true";
  } catch (error) {
    if (!(error instanceof LoadError)) console.error("SessionStory heatmap:", error);
    showMessage(root, error instanceof LoadError ? error.message : "Could not show this heatmap.", "alert");
    root.dataset.ready = "error";
  } finally {
    root.removeAttribute("aria-busy");
  }
}

adoptStyles("heatmap", __SS_CSS__);
mountEach(".ss-heatmap", (root) => void mount(root));
