// One player: lays out the UI around rrweb's Replayer and keeps the two in step.
import type { Replayer } from "@rrweb/replay";
import { IDLE_GAP_MS, nextActivity } from "./activity";
import { Controls, SPEEDS, type PlayState } from "./controls";
import { originOf } from "./describe";
import { h } from "./dom";
import { CommentsPanel, commentsAccess, type TeamComment } from "./comments";
import { activityTimes, firstPageLoad, firstViewport, pageBuiltBy, pageLoads, sameViewport, viewportAt, type PageLoad, type RecordedEvent } from "./events";
import { toggleFullscreen, watchFullscreen } from "./fullscreen";
import { Inspector } from "./inspector";
import type { PanelContext } from "./panel-kit";
import { buildMarkers } from "./markers";
import { ConsolePanel, ErrorsPanel, EventsPanel, NetworkPanel, PagesPanel } from "./panels";
import { bindKeys } from "./keyboard";
import { HoverCss } from "./hover-css";
import { frameRendered } from "./ready";
import { createReplayer } from "./replayer";
import { StageScaler, type Size } from "./scale";
import { StepsPanel, stepsTestUrl, stepsUrl } from "./steps";
import { readStory, type Moment, type PageView, type Story } from "./story";
import { TabStrip } from "./tabs";
import { formatTime } from "./time";
import { Timeline } from "./timeline";
import { UrlBar } from "./urlbar";

const DEFAULTS = { speed: 1, skipInactive: true };
/**
 * Seeks apply the events before their moment to the recorded page itself, not to rrweb's virtual DOM: opening
 * 4.5 minutes after a full snapshot of a large page, rrweb's seek took about half as long (docs/performance.md).
 */
const REPLAY = { ...DEFAULTS, virtualDomSeeks: false };
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
  private readonly hoverCss: HoverCss;
  /** What has arrived so far, in timestamp order; the rest of a long session comes through extend() and prepend(). */
  private events: RecordedEvent[];
  /** Whether the session's end, and its start, have arrived. */
  private endIn: boolean;
  private startIn: boolean;
  private readonly expectedTotal: number;
  /** The session's first event's timestamp: every time shown counts from it, whatever has arrived. */
  private readonly started: number;
  /** The earliest timestamp the events that have arrived can show (their first page load), until all before it are in. */
  private showableFrom: number;
  /** A seek to a moment before what has arrived, done once it has (index.ts loads it first meanwhile). */
  private earlierSeek: { ms: number; play: boolean } | null = null;
  private readonly waitBadge: HTMLElement;
  /** Put first in the Replayer's events when those that arrived first begin after the session's start. */
  private readonly startMark: RecordedEvent | null;
  /** The moment shown while paused, when rrweb was sent a moment later to build the page loaded at it. */
  private heldAt: number | null = null;
  private total = 0;
  private activity: number[] = [];
  private story!: Story;
  private home = "";
  private moments: { list: Moment[] | null; status: "loading" | "failed" | "ready" } = { list: null, status: "loading" };
  private readonly timeline: Timeline;
  private readonly controls: Controls;
  private readonly urlbar: UrlBar;
  private readonly tabs: TabStrip | null;
  /**
   * The panels, built once the first frame is on screen (showPanels): until then an empty box of the same place
   * holds the layout, so that the stage keeps its size and scale when they come.
   */
  private inspector: Inspector | null = null;
  private readonly inspectorBox: HTMLElement;
  private eventsPanel: EventsPanel | null = null;
  /** Read by the server for the whole session: made once, kept when the other panels are rebuilt. */
  private stepsPanel: StepsPanel | null = null;
  /** Like the steps: the team's comments are loaded once and kept across rebuilds. */
  private commentsPanel: CommentsPanel | null = null;
  private comments: TeamComment[] = [];
  private readonly skipBadge: HTMLElement;
  private readonly scaler: StageScaler;
  private recorded: Size | null = null;
  private playing = false;
  private ended = false;
  /** Playback reached the end of what has arrived while more is coming: it resumes when it comes. */
  private starved = false;
  private loop = 0;
  private pendingSeek: number | null = null;
  // Bumped by every seek/play, to tell a stale "finish" (scheduled by rrweb before the seek) from a real one.
  private generation = 0;
  private finishGeneration = -1;
  private skipBadgeUntil = 0;

  /**
   * `events` may be a part of the session: one without its end (`end` false) or beginning at a page load later
   * than the session's start (`started`, the session's first timestamp, is then earlier than theirs). The rest
   * follows through extend() and prepend(), and `expectedTotal` (the session's duration as the server knows it)
   * sizes the timeline meanwhile.
   */
  constructor(
    private readonly root: HTMLElement,
    events: RecordedEvent[],
    loading: { end: boolean; expectedTotal: number; started?: number } = { end: true, expectedTotal: 0 },
  ) {
    this.events = events;
    this.endIn = loading.end;
    this.expectedTotal = loading.expectedTotal;
    this.started = Math.min(loading.started ?? events[0].timestamp, events[0].timestamp);
    this.startIn = this.started === events[0].timestamp;
    this.showableFrom = this.startIn ? -Infinity : firstPageLoad(events);
    this.urlbar = new UrlBar([]);
    this.timeline = new Timeline({ total: 0, activity: [] }, (ms) => this.userSeek(ms));
    this.controls = new Controls(this.timeline, 0, DEFAULTS, {
      togglePlay: () => this.togglePlay(),
      setSpeed: (speed) => this.replayer.setConfig({ speed }),
      setSkipInactive: (on) => this.replayer.setConfig({ skipInactive: on }),
      jumpToFirstError: () => this.jumpToFirstError(),
      linkHere: () => this.linkHere(),
      toggleFullscreen: () => toggleFullscreen(this.root),
      // Loaded on the first click: the screenshot library is not needed to show the session.
      screenshot: async () => (await import("./screenshot")).saveScreenshot(this.replayer.iframe, formatTime(this.playhead())),
    });
    const stage = h("div", { class: "ss-stage" });
    this.skipBadge = h("div", { class: "ss-skipping", hidden: "" }, ["Skipping inactivity…"]);
    this.waitBadge = h("div", { class: "ss-skipping", role: "status", hidden: "" }, ["Loading this part of the session…"]);
    const viewport = h("div", { class: "ss-viewport" }, [stage, this.skipBadge, this.waitBadge]);
    const tabsUrl = this.root.dataset.tabsUrl;
    this.tabs = tabsUrl ? new TabStrip(tabsUrl, () => this.playhead(), () => this.home) : null;
    const tabs = this.tabs ? [this.tabs.element] : [];
    const pane = h("div", { class: "ss-pane" }, [...tabs, this.urlbar.element, viewport, this.controls.element]);
    this.inspectorBox = h("section", { class: "ss-inspector", "aria-label": "Session details", "aria-busy": "true" }, [
      h("div", { class: "ss-inspector-inner" }), // sized by player.css as the panels' box is
    ]);
    this.root.replaceChildren(h("div", { class: "ss-main" }, [pane, this.inspectorBox]));
    this.derive();

    // rrweb counts time from its first event: a mark at the session's start keeps its clock on the session's.
    this.startMark = this.startIn ? null : startMark(this.started);
    this.replayer = createReplayer(stage, this.startMark ? [this.startMark, ...events] : events, REPLAY);
    this.hoverCss = new HoverCss(this.replayer);
    this.scaler = new StageScaler(viewport, stage, this.replayer.wrapper, (size, scale) => this.onScale(size, scale));
    const size = firstViewport(events);
    if (size) {
      this.recorded = size;
      this.placeInspector();
      this.scaler.setRecordedSize(size); // before rrweb's own first "resize", so the stage never jumps
    }
    this.listen(stage);
  }

  /** More of the session, after what has arrived, in order; `end` once the session's end is in. */
  extend(more: RecordedEvent[], end: boolean): void {
    for (const event of more) this.replayer.addEvent(event);
    this.events = this.events.concat(more);
    this.endIn = end;
    if (this.complete) this.rederive();
    else this.setTotal(end ? this.loadedTotal() : Math.max(this.total, this.loadedTotal()));
    if (this.starved && (more.length || end)) {
      this.starved = false;
      if (more.length) this.play();
    }
  }

  /**
   * The events before those that arrived first, in order; `fromStart` once they reach the session's start. Put
   * in the Replayer's list without being played (its addEvent would apply them to the frame at once).
   */
  prepend(earlier: RecordedEvent[], fromStart: boolean): void {
    const list = this.replayer.service.state.context.events;
    const behind = list.splice(list[0] === this.startMark ? 1 : 0);
    for (const event of earlier) list.push(event);
    for (const event of behind) list.push(event);
    this.events = earlier.concat(this.events);
    this.startIn = fromStart;
    this.showableFrom = fromStart ? -Infinity : firstPageLoad(this.events);
    if (this.complete) this.rederive();
    const waiting = this.earlierSeek;
    if (waiting && this.started + waiting.ms >= this.showableFrom) {
      this.earlierSeek = null;
      this.seek(waiting.ms);
      if (waiting.play) this.play();
    }
  }

  /**
   * What the panels and the tab strip read from the server beyond the events, asked for once the first frame is
   * on screen: answered during it, their parsing and drawing would hold it up.
   */
  afterFirstFrame(): void {
    this.hoverCss.afterFirstFrame();
    this.tabs?.start();
    setTimeout(() => this.showPanels(), 0);
  }

  /**
   * The panels, in a task of their own after the first frame: built before it, their thousands of nodes held
   * up the replay's frame (about 10 ms of a long session's opening) for lists read after it.
   */
  private showPanels(): void {
    if (this.inspector) return;
    this.buildInspector();
    this.stepsPanel?.start();
    this.commentsPanel?.start();
    this.render();
  }

  /** Whether all of the session has arrived (the timeline and panels then show all of it). */
  private get complete(): boolean {
    return this.startIn && this.endIn;
  }

  /** Whether a seek waits for events before those that have arrived. */
  get waitsForEarlier(): boolean {
    return this.earlierSeek !== null;
  }

  /** Everything the UI reads from the events: times, the story, the panels, the markers. */
  private derive(): void {
    const events = this.events;
    const start = this.started;
    const loads = pageLoads(events, start);
    this.activity = activityTimes(events, start);
    this.story = readStory(events, start);
    this.home = originOf(loads[0]?.href ?? this.story.pages[0]?.url ?? "");
    this.urlbar.setLoads(locations(loads, this.story.pages));
    this.setTotal(this.endIn ? this.loadedTotal() : Math.max(this.loadedTotal(), this.expectedTotal));
    if (this.inspector) this.buildInspector();
    this.showMarkers();
    this.controls.setFirstError(this.story.errors.length > 0);
  }

  /** derive() once all has arrived, the rebuilt panels following the playhead at once. */
  private rederive(): void {
    this.derive();
    this.render();
  }

  private loadedTotal(): number {
    return this.events[this.events.length - 1].timestamp - this.started;
  }

  private setTotal(total: number): void {
    this.total = total;
    this.timeline.setData({ total, activity: this.activity });
    this.controls.setTotal(total);
  }

  private buildInspector(): void {
    const ctx = { total: this.total, home: this.home, seek: (ms: number) => this.userSeek(ms) };
    this.eventsPanel = new EventsPanel(this.story, ctx, this.moments.list, this.moments.status);
    const inspector = new Inspector(
      [
        new ConsolePanel(this.story.console, ctx),
        new NetworkPanel(this.story.network, ctx),
        new ErrorsPanel(this.story.errors, ctx),
        new PagesPanel(this.story.pages, ctx),
        this.eventsPanel,
        (this.stepsPanel ??= new StepsPanel(stepsUrl(this.root), stepsTestUrl(this.root), ctx, () => this.inspector?.refreshCounts())),
        ...this.commentsPanels(ctx),
      ],
      "events",
    );
    (this.inspector?.element ?? this.inspectorBox).replaceWith(inspector.element);
    this.inspector = inspector;
  }

  /** The Comments panel, on pages that give a comments URL (not live, not shared). */
  private commentsPanels(ctx: PanelContext): CommentsPanel[] {
    const access = commentsAccess(this.root);
    if (!access) return [];
    this.commentsPanel ??= new CommentsPanel(access, ctx, () => this.playhead(), (comments) => {
      this.comments = comments;
      this.showMarkers();
      this.inspector?.refreshCounts();
    });
    return [this.commentsPanel];
  }

  private showMarkers(): void {
    this.timeline.setMarkers(buildMarkers(this.story, this.moments.list ?? this.story.clicks, this.home, this.comments));
  }

  /** Opens paused at `ms` and resolves once that frame is on screen. */
  async openAt(ms: number, seeked: () => void = () => undefined): Promise<void> {
    // The Replayer builds its first page and announces the first page's size in setTimeout(0)/(1) calls of
    // its constructor. Seeking before they run spares building that page twice (a seek builds it again;
    // a big page takes hundreds of ms; the late build then finds the page built and does nothing), but
    // their late "first page size" would then override the size at `ms`: so seek at once only when the page
    // at `ms` has the first page's size, else right after that size (a timeout of 0 set after theirs runs
    // after their 0, and most often before their 1, which would build the first page for nothing).
    const sameSize = sameViewport(firstViewport(this.events), viewportAt(this.events, this.started + ms));
    if (!sameSize) await new Promise((resolve) => setTimeout(resolve, 0));
    let built = false;
    const onBuilt = (): void => void (built = true);
    this.replayer.on("fullsnapshot-rebuilded", onBuilt);
    this.seek(ms);
    this.replayer.off("fullsnapshot-rebuilded", onBuilt);
    this.hoverCss.afterFirstBuild();
    seeked();
    // Once the seek has built a page, the constructor's timers change nothing on screen: the first page's size
    // is the one shown (sameSize) or was announced before the seek, and its build finds a page built.
    await frameRendered(this.replayer.iframe, !(sameSize && built));
  }

  /**
   * The server's clicks, inputs and frustration signals, which arrive after the events. `null` when there
   * are none to be had: the recording's own click events stand in (without the signals).
   */
  setMoments(moments: Moment[] | null, failed = false): void {
    this.moments = { list: moments, status: failed ? "failed" : "ready" };
    this.showMarkers();
    this.eventsPanel?.setMoments(moments, this.moments.status);
    this.inspector?.refreshCounts();
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
    this.heldAt = null;
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
    if (this.started + t < this.showableFrom) {
      // Before what has arrived: rrweb would show the frame it has. Wait (paused) for the earlier events.
      this.earlierSeek = { ms: t, play: this.playing || (this.earlierSeek?.play ?? false) };
      this.replayer.pause();
      this.render();
      return;
    }
    this.earlierSeek = null;
    this.heldAt = null;
    if (this.playing) this.replayer.play(t);
    else {
      // rrweb shows a moment with the events before it: at the session's end, the last one is shown too.
      const end = this.endIn && t >= this.total ? t + 1 : t;
      const built = Math.max(pageBuiltBy(this.events, this.started + t) - this.started, end);
      this.replayer.pause(built);
      if (built !== t) this.heldAt = t;
    }
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
        pickSpeed: (speed) => this.setSpeed(speed),
        toggleFullscreen: () => toggleFullscreen(this.root),
        toggleHelp: () => this.controls.toggleHelp(),
      },
      SPEEDS,
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
    this.inspector?.follow();
  }

  private jumpToFirstError(): void {
    const first = this.story.errors[0];
    if (!first) return;
    this.showPanels();
    this.inspector?.show("errors");
    this.userSeek(Math.max(0, first.time - ERROR_LEAD_MS));
  }

  /** The page's own address with ?t= the current moment: the session page opens there. */
  private linkHere(): string {
    return `${location.origin}${location.pathname}?t=${Math.round(this.playhead())}`;
  }

  /** The moment shown, or about to be (a seek waiting for the next frame). */
  private playhead(): number {
    return this.pendingSeek ?? this.earlierSeek?.ms ?? (this.ended ? this.total : this.currentTime());
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
    if (!this.endIn) {
      // The end of what has arrived, not of the session: wait for the rest, then go on (extend()).
      this.starved = true;
      this.replayer.pause();
      return;
    }
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
    if (this.heldAt !== null && !this.playing) return this.heldAt;
    return Math.min(this.total, Math.max(0, this.replayer.getCurrentTime()));
  }

  private render(): void {
    const t = this.ended ? this.total : (this.earlierSeek?.ms ?? this.currentTime());
    const state: PlayState = this.ended ? "ended" : this.playing ? "playing" : "paused";
    this.controls.setTime(t);
    this.controls.setState(state);
    this.timeline.setTime(t);
    this.urlbar.setTime(t);
    this.inspector?.setTime(t);
    this.root.dataset.state = state;
    const skipping = this.replayer.speedService.state.matches("skipping") || performance.now() < this.skipBadgeUntil;
    this.skipBadge.hidden = !(this.playing && skipping);
    this.waitBadge.hidden = this.earlierSeek === null;
  }
}

/** A Custom event (type 5), which rrweb passes over: the session's start, before a part of it that begins later. */
function startMark(timestamp: number): RecordedEvent {
  return { type: 5, timestamp, data: { tag: "sessionstory:start", payload: {} } } as RecordedEvent;
}

/** Where the visitor was, over time: page loads (Meta events) and SPA navigations (our page events). */
function locations(loads: PageLoad[], pages: PageView[]): PageLoad[] {
  const spa = pages.filter((p) => p.kind !== "load").map((p) => ({ time: p.time, href: p.url }));
  return loads.concat(spa).sort((a, b) => a.time - b.time);
}
