// Live mode (`?live=1`): follows a session as it is recorded, fed by the server's event stream.
//
// The server sends the recording so far ("start"), then each batch as it becomes durable ("batch"). The
// browser's EventSource reconnects by itself and sends the id of the last message back, so the server
// resumes exactly after it. Each batch plays with the spacing it was recorded with, right as it arrives.
import type { Replayer } from "@rrweb/replay";
import { h } from "./dom";
import { LoadError, isEvent, type RecordedEvent } from "./events";
import { frameRendered } from "./ready";
import { createReplayer } from "./replayer";
import { StageScaler, type Size } from "./scale";

const FULL_SNAPSHOT = 2;
const META = 4;
/** A batch spans at most this much of playback; anything older plays at once, so the viewer never lags. */
const MAX_LAG_MS = 1000;

interface Batch {
  events: RecordedEvent[];
}

interface Queued {
  event: RecordedEvent;
  due: number;
}

/** The recording from the last page load on: all a live viewer needs to see the page as it is now. */
export function fromLastPageLoad(events: RecordedEvent[]): RecordedEvent[] {
  const snapshot = events.map((e) => e.type).lastIndexOf(FULL_SNAPSHOT);
  if (snapshot < 0) return [];
  const meta = events.slice(0, snapshot).map((e) => e.type).lastIndexOf(META);
  return events.slice(meta < 0 ? snapshot : meta);
}

export class LivePlayer {
  private replayer: Replayer | null = null;
  private scaler: StageScaler | null = null;
  private readonly stage = h("div", { class: "ss-stage" });
  private readonly viewport = h("div", { class: "ss-viewport" }, [this.stage]);
  private readonly url = h("span", { class: "ss-url" });
  private readonly status = h("span", { class: "ss-live-status", role: "status" }, ["Connecting…"]);
  /** Events before the visitor's first full snapshot: nothing to draw them on yet. */
  private waiting: RecordedEvent[] = [];
  private queue: Queued[] = [];
  private lastDue = 0;
  private timer = 0;
  private lastArrival = 0;
  private source: EventSource | null = null;

  constructor(private readonly root: HTMLElement, private readonly streamUrl: string, replayUrl: string) {
    const badge = h("span", { class: "ss-live-badge" }, ["● Live"]);
    const fromStart = h("a", { href: replayUrl, class: "ss-live-replay" }, ["Watch from the start"]);
    const bar = h("div", { class: "ss-urlbar" }, [badge, this.url, this.status, fromStart]);
    this.root.replaceChildren(h("div", { class: "ss-main" }, [h("div", { class: "ss-pane" }, [bar, this.viewport])]));
    this.root.classList.add("ss-live");
  }

  /** Connects; resolves once the page as it is now is on screen (or rejects with a LoadError). */
  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const source = (this.source = new EventSource(this.streamUrl));
      let started = false;
      source.addEventListener("start", (message) => {
        this.receive(message as MessageEvent<string>, true);
        if (started || !this.replayer) return;
        started = true;
        void frameRendered(this.replayer.iframe).then(resolve);
      });
      source.addEventListener("batch", (message) => {
        this.receive(message as MessageEvent<string>, false);
        if (!started && this.replayer) {
          started = true;
          void frameRendered(this.replayer.iframe).then(resolve);
        }
      });
      source.addEventListener("open", () => this.setStatus("Watching"));
      source.addEventListener("error", () => {
        if (source.readyState === EventSource.CLOSED) {
          this.setStatus("Disconnected");
          if (!started) reject(new LoadError("Could not follow this session live (the server refused)."));
        } else this.setStatus("Reconnecting…");
      });
      window.setInterval(() => this.showLastActivity(), 1000);
    });
  }

  close(): void {
    this.source?.close();
    window.clearTimeout(this.timer);
  }

  private receive(message: MessageEvent<string>, opening: boolean): void {
    let batch: Batch;
    try {
      batch = JSON.parse(message.data) as Batch;
    } catch {
      return; // not ours to understand; the next batch carries on
    }
    const events = (Array.isArray(batch.events) ? batch.events : []).filter(isEvent);
    events.sort((a, b) => a.timestamp - b.timestamp);
    if (!opening) this.lastArrival = performance.now();
    if (!this.replayer) {
      this.waiting.push(...events);
      const visible = fromLastPageLoad(this.waiting);
      if (visible.length) this.begin(visible);
      else this.setStatus("Waiting for the visitor's page…");
      return;
    }
    // A second "start" would only repeat what is on screen (the stream resumes by id after a reconnect).
    if (!opening) this.schedule(events);
  }

  /** The first full snapshot is in: build the frame and bring it up to now. */
  private begin(events: RecordedEvent[]): void {
    this.waiting = [];
    const replayer = (this.replayer = createReplayer(this.stage, [], { speed: 1, skipInactive: false }, true));
    this.scaler = new StageScaler(this.viewport, this.stage, replayer.wrapper, () => undefined);
    replayer.on("resize", (size) => this.scaler?.setRecordedSize(size as Size));
    // rrweb casts an event at once when it is older than the baseline: ours is "always", since the
    // pacing is done here (schedule) on the viewer's own clock, which the visitor's need not match.
    replayer.startLive(Number.MAX_SAFE_INTEGER);
    events.forEach((e) => this.cast(e));
  }

  /** Releases a batch's events with their recorded spacing, in order, never more than MAX_LAG_MS behind. */
  private schedule(events: RecordedEvent[]): void {
    const now = performance.now();
    if (this.lastDue - now > MAX_LAG_MS) this.drain(Infinity);
    const first = events[0]?.timestamp ?? 0;
    for (const event of events) {
      const due = Math.max(this.lastDue, now + Math.min(event.timestamp - first, MAX_LAG_MS));
      this.queue.push({ event, due });
      this.lastDue = due;
    }
    this.pump();
  }

  private pump(): void {
    window.clearTimeout(this.timer);
    this.drain(performance.now());
    if (this.queue.length) this.timer = window.setTimeout(() => this.pump(), this.queue[0].due - performance.now());
  }

  private drain(until: number): void {
    while (this.queue.length && this.queue[0].due <= until) this.cast(this.queue.shift()!.event);
  }

  private cast(event: RecordedEvent): void {
    if (event.type === META) {
      const href = String((event.data as { href?: unknown }).href ?? "");
      // Plain text: a recorded href is visitor data and must never become a live link.
      this.url.textContent = href;
      this.url.title = href;
    }
    this.replayer?.addEvent(event);
  }

  private showLastActivity(): void {
    if (!this.lastArrival || this.source?.readyState !== EventSource.OPEN) return;
    const seconds = Math.round((performance.now() - this.lastArrival) / 1000);
    this.setStatus(seconds < 2 ? "Watching · active now" : `Watching · last activity ${seconds} s ago`);
  }

  private setStatus(text: string): void {
    if (this.status.textContent !== text) this.status.textContent = text;
  }
}
