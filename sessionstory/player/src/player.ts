// One player: lays out the UI around rrweb's Replayer and keeps the two in step.
import type { Replayer } from "@rrweb/replay";
import { IDLE_GAP_MS, nextActivity } from "./activity";
import { Controls, SPEEDS, type PlayState } from "./controls";
import { originOf } from "./describe";
import { h } from "./dom";
import { activityTimes, firstViewport, pageLoads, type PageLoad, type RecordedEvent } from "./events";
import { toggleFullscreen, watchFullscreen } from "./fullscreen";
import { Inspector } from "./inspector";
import { buildMarkers } from "./markers";
import { ConsolePanel, ErrorsPanel, EventsPanel, NetworkPanel, PagesPanel } from "./panels";
import { bindKeys } from "./keyboard";
import { frameRendered } from "./ready";
import { createReplayer } from "./replayer";
import { StageScaler, type Size } from "./scale";
import { StepsPanel, stepsUrl } from "./steps";
import { readStory, type Moment, type PageView, type Story } from "./story";
import { Timeline } from "./timeline";
import { UrlBar } from "./urlbar";

const DEFAULTS = { speed: 1, skipInactive: true };
/** After skipping an idle stretch, resume this long before the next action so it does not come out of nowhere. */
const SKIP_LEAD_MS = 1000;
/** How long the "Skipping inactivity" badge stays up after a jump (rrweb's own skipping shows it throughout). */
const SKIP_BADGE_MS = 1000;
/** "First error" opens this long before it, so the visitor's lead-up is seen. */
const ERROR_LEAD_MS = 2000;
/**
 * The panels go beside the stage only when the recorded page still fits at 1:1 next to them; else below.
 * Must match player.css: the side inspector's width, and the viewport's padding plus the inspector's border.
 */
const SIDE_PANEL_PX = 420;
const STAGE_CHROME_PX = 33;

export class Player {
  readonly replayer: Replayer;
  private readonly total: number;
  private readonly activity: number[];
  private readonly story: Story;
  private readonly home: string;
  private readonly timeline: Timeline;
  private readonly controls: Controls;
  private readonly urlbar: UrlBar;
  private readonly inspector: Inspector;
  private readonly eventsPanel: EventsPanel;
  private readonly skipBadge: HTMLElement;
  private readonly scaler: StageScaler;
  private recorded: Size | null = null;
  private playing = false;
  private ended = false;
  private loop = 0;
  private pendingSeek: number | null = null;
  // Bumped by every seek/play, to tell a stale "finish" (scheduled by rrweb before the seek) from a real one.
  private generation = 0;
  private finishGeneration = -1;
  private skipBadgeUntil = 0;

  constructor(private readonly root: HTMLElement, events: RecordedEvent[]) {
    const start = events[0].timestamp;
    this.total = events[events.length - 1].timestamp - start;
    const loads = pageLoads(events, start);
    this.activity = activityTimes(events, start);
    this.story = readStory(events, start);
    this.home = originOf(loads[0]?.href ?? this.story.pages[0]?.url ?? "");
    this.urlbar = new UrlBar(locations(loads, this.story.pages));
    this.timeline = new Timeline({ total: this.total, activity: this.activity }, (ms) => this.userSeek(ms));
    this.controls = new Controls(this.timeline, this.total, DEFAULTS, {
      togglePlay: () => this.togglePlay(),
      setSpeed: (speed) => this.replayer.setConfig({ speed }),
      setSkipInactive: (on) => this.replayer.setConfig({ skipInactive: on }),
      jumpToFirstError: () => this.jumpToFirstError(),
      linkHere: () => this.linkHere(),
      toggleFullscreen: () => toggleFullscreen(this.root),
    });
    const ctx = { total: this.total, home: this.home, seek: (ms: number) => this.userSeek(ms) };
    this.eventsPanel = new EventsPanel(this.story, ctx);
    this.inspector = new Inspector(
      [
        new ConsolePanel(this.story.console, ctx),
        new NetworkPanel(this.story.network, ctx),
        new ErrorsPanel(this.story.errors, ctx),
        new PagesPanel(this.story.pages, ctx),
        this.eventsPanel,
        new StepsPanel(stepsUrl(root), ctx, () => this.inspector.refreshCounts()),
      ],
      "events",
    );
    const stage = h("div", { class: "ss-stage" });
    this.skipBadge = h("div", { class: "ss-skipping", hidden: "" }, ["Skipping inactivity…"]);
    const viewport = h("div", { class: "ss-viewport" }, [stage, this.skipBadge]);
    const pane = h("div", { class: "ss-pane" }, [this.urlbar.element, viewport, this.controls.element]);
    this.root.replaceChildren(h("div", { class: "ss-main" }, [pane, this.inspector.element]));

    this.replayer = createReplayer(stage, events, DEFAULTS);
    this.scaler = new StageScaler(viewport, stage, this.replayer.wrapper, (size, scale) => this.onScale(size, scale));
    const size = firstViewport(events);
    if (size) {
      this.recorded = size;
      this.placeInspector();
      this.scaler.setRecordedSize(size); // before rrweb's own first "resize", so the stage never jumps
    }
    this.timeline.setMarkers(buildMarkers(this.story, this.story.clicks, this.home));
    this.controls.setFirstError(this.story.errors.length > 0);
    this.listen(stage);
  }

  /** Opens paused at `ms` and resolves once that frame is on screen. */
  async openAt(ms: number): Promise<void> {
    // The Replayer builds its first page in setTimeout(0)/(1) calls of its constructor; seeking after them
    // keeps its late "first page size" from overriding the size at `ms` (a later page may differ).
    await new Promise((resolve) => setTimeout(resolve, 16));
    this.seek(ms);
    await frameRendered(this.replayer.iframe);
  }

  /**
   * The server's clicks, inputs and frustration signals, which arrive after the events. `null` when there
   * are none to be had: the recording's own click events stand in (without the signals).
   */
  setMoments(moments: Moment[] | null, failed = false): void {
    this.timeline.setMarkers(buildMarkers(this.story, moments ?? this.story.clicks, this.home));
    this.eventsPanel.setMoments(moments, failed ? "failed" : "ready");
    this.inspector.refreshCounts();
  }

  togglePlay(): void {
    if (this.playing) this.pause();
    else this.play();
  }

  play(): void {
    const now = this.currentTime();
    // At the end, "play" means watch again, as in any video player.
    const from = this.ended || now >= this.total ? 0 : now;
    this.ended = false;
    this.generation++;
    this.replayer.play(from);
    this.render();
  }

  pause(): void {
    this.replayer.pause();
    this.render();
  }

  /** Seeks keeping the play state: replayer.play(t) while playing, replayer.pause(t) (renders t) while paused. */
  seek(ms: number): void {
    // Whole ms: the range input gives fractions, and rrweb's times are whole ms.
    const t = Math.round(Math.min(this.total, Math.max(0, ms)));
    this.ended = false;
    this.generation++;
    if (this.playing) this.replayer.play(t);
    else this.replayer.pause(t);
    this.render();
  }

  seekBy(deltaMs: number): void {
    this.userSeek((this.pendingSeek ?? this.currentTime()) + deltaMs);
  }

  private listen(stage: HTMLElement): void {
    const r = this.replayer;
    r.on("resize", (size) => this.scaler.setRecordedSize(size as Size));
    r.on("state-change", (states) => {
      const player = (states as { player?: { value: string } }).player;
      if (player) this.onPlayingChange(player.value === "playing");
    });
    const events = r.service.state.context.events;
    r.on("event-cast", (event) => {
      if (event === events[events.length - 1]) this.finishGeneration = this.generation;
    });
    r.on("finish", () => {
      if (this.finishGeneration === this.generation) this.onFinish();
    });
    // The frame ignores the pointer (rrweb sets pointer-events: none), so a click on the picture lands here.
    stage.addEventListener("click", () => this.togglePlay());
    bindKeys(
      this.root,
      this.timeline.input,
      {
        togglePlay: () => this.togglePlay(),
        seekBy: (d) => this.seekBy(d),
        pickSpeed: (i) => this.setSpeed(SPEEDS[i]),
        toggleFullscreen: () => toggleFullscreen(this.root),
        toggleHelp: () => this.controls.toggleHelp(),
      },
      SPEEDS.length,
    );
    watchFullscreen(this.root, (on) => {
      this.controls.setFullscreen(on);
      this.placeInspector();
      this.scaler.update();
    });
    // The dashboard's width decides where the panels go.
    new ResizeObserver(() => this.placeInspector()).observe(this.root);
  }

  private setSpeed(speed: number): void {
    this.replayer.setConfig({ speed });
    this.controls.setSpeed(speed);
  }

  /** A seek the person asked for (bar, marker, row, key): the panels follow the playhead again. */
  private userSeek(ms: number): void {
    this.requestSeek(ms);
    this.inspector.follow();
  }

  private jumpToFirstError(): void {
    const first = this.story.errors[0];
    if (!first) return;
    this.inspector.show("errors");
    this.userSeek(Math.max(0, first.time - ERROR_LEAD_MS));
  }

  /** The page's own address with ?t= the current moment: the session page opens there. */
  private linkHere(): string {
    const t = this.pendingSeek ?? (this.ended ? this.total : this.currentTime());
    return `${location.origin}${location.pathname}?t=${Math.round(t)}`;
  }

  /** Dragging the seek bar fires "input" far more often than frames are drawn: seek at most once a frame. */
  private requestSeek(ms: number): void {
    const scheduled = this.pendingSeek !== null;
    this.pendingSeek = ms;
    if (scheduled) return;
    requestAnimationFrame(() => {
      const t = this.pendingSeek;
      this.pendingSeek = null;
      if (t !== null) this.seek(t);
    });
  }

  private onPlayingChange(playing: boolean): void {
    if (playing === this.playing) return;
    this.playing = playing;
    if (playing) this.startLoop();
    this.render();
  }

  private onFinish(): void {
    this.ended = true;
    this.playing = false;
    this.render();
  }

  private onScale(size: Size, scale: number): void {
    this.urlbar.setViewport(size, scale);
    this.root.dataset.scale = String(Math.round(scale * 1000) / 1000);
    if (!this.recorded || this.recorded.width !== size.width) {
      this.recorded = { width: size.width, height: size.height };
      this.placeInspector();
    }
  }

  /**
   * Beside the stage when the root has room for the recorded width at 1:1 plus the panels (or in full
   * screen on a wide screen), else below it. Depends only on widths the layout does not change: no loops.
   */
  private placeInspector(): void {
    const width = this.root.clientWidth;
    if (width === 0) return;
    const full = document.fullscreenElement === this.root;
    const needed = (this.recorded?.width ?? Infinity) + STAGE_CHROME_PX + SIDE_PANEL_PX;
    const side = width >= needed || (full && width >= 2 * SIDE_PANEL_PX + STAGE_CHROME_PX);
    this.root.classList.toggle("ss-side", side);
  }

  /** Updates the UI every frame while playing; stops by itself on pause or when the player leaves the page. */
  private startLoop(): void {
    if (this.loop) return;
    const tick = (): void => {
      this.skipIdle();
      this.render();
      this.loop = this.playing && this.root.isConnected ? requestAnimationFrame(tick) : 0;
    };
    this.loop = requestAnimationFrame(tick);
  }

  /**
   * rrweb fast-forwards idle stretches only when it casts an action during playback, so it never skips
   * a stretch that playback enters by a seek, a speed change or the session's own start. Jump those.
   * Same threshold as rrweb (10 s of session time, times the speed).
   */
  private skipIdle(): void {
    const { skipInactive, speed } = this.replayer.config;
    if (!skipInactive || !this.playing || this.replayer.speedService.state.matches("skipping")) return;
    const now = this.currentTime();
    const next = nextActivity(this.activity, now, this.total);
    if (next - now <= IDLE_GAP_MS * speed) return;
    this.generation++;
    this.replayer.play(next - SKIP_LEAD_MS);
    this.skipBadgeUntil = performance.now() + SKIP_BADGE_MS;
  }

  private currentTime(): number {
    return Math.min(this.total, Math.max(0, this.replayer.getCurrentTime()));
  }

  private render(): void {
    const t = this.ended ? this.total : this.currentTime();
    const state: PlayState = this.ended ? "ended" : this.playing ? "playing" : "paused";
    this.controls.setTime(t);
    this.controls.setState(state);
    this.timeline.setTime(t);
    this.urlbar.setTime(t);
    this.inspector.setTime(t);
    this.root.dataset.state = state;
    const skipping = this.replayer.speedService.state.matches("skipping") || performance.now() < this.skipBadgeUntil;
    this.skipBadge.hidden = !(this.playing && skipping);
  }
}

/** Where the visitor was, over time: page loads (Meta events) and SPA navigations (our page events). */
function locations(loads: PageLoad[], pages: PageView[]): PageLoad[] {
  const spa = pages.filter((p) => p.kind !== "load").map((p) => ({ time: p.time, href: p.url }));
  return loads.concat(spa).sort((a, b) => a.time - b.time);
}
