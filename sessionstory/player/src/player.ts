// One player: lays out the UI around rrweb's Replayer and keeps the two in step.
import type { Replayer } from "@rrweb/replay";
import { IDLE_GAP_MS, nextActivity } from "./activity";
import { Controls, type PlayState } from "./controls";
import { h } from "./dom";
import { activityTimes, firstViewport, pageLoads, type RecordedEvent } from "./events";
import { bindKeys } from "./keyboard";
import { frameRendered } from "./ready";
import { createReplayer } from "./replayer";
import { StageScaler, type Size } from "./scale";
import { Timeline } from "./timeline";
import { UrlBar } from "./urlbar";

const DEFAULTS = { speed: 1, skipInactive: true };
/** After skipping an idle stretch, resume this long before the next action so it does not come out of nowhere. */
const SKIP_LEAD_MS = 1000;
/** How long the "Skipping inactivity" badge stays up after a jump (rrweb's own skipping shows it throughout). */
const SKIP_BADGE_MS = 1000;

export class Player {
  readonly replayer: Replayer;
  private readonly total: number;
  private readonly activity: number[];
  private readonly timeline: Timeline;
  private readonly controls: Controls;
  private readonly urlbar: UrlBar;
  private readonly skipBadge: HTMLElement;
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
    this.urlbar = new UrlBar(loads);
    const timelineData = { total: this.total, activity: this.activity, pageLoads: loads };
    this.timeline = new Timeline(timelineData, (ms) => this.requestSeek(ms));
    this.controls = new Controls(this.timeline, this.total, DEFAULTS, {
      togglePlay: () => this.togglePlay(),
      setSpeed: (speed) => this.replayer.setConfig({ speed }),
      setSkipInactive: (on) => this.replayer.setConfig({ skipInactive: on }),
    });
    const stage = h("div", { class: "ss-stage" });
    this.skipBadge = h("div", { class: "ss-skipping", hidden: "" }, ["Skipping inactivity…"]);
    const viewport = h("div", { class: "ss-viewport" }, [stage, this.skipBadge]);
    this.root.replaceChildren(this.urlbar.element, viewport, this.controls.element);

    this.replayer = createReplayer(stage, events, DEFAULTS);
    const scaler = new StageScaler(viewport, stage, this.replayer.wrapper, (size, scale) => this.onScale(size, scale));
    const size = firstViewport(events);
    if (size) scaler.setRecordedSize(size); // before rrweb's own first "resize", so the stage never jumps
    this.listen(stage, scaler);
  }

  /** Opens paused at `ms` and resolves once that frame is on screen. */
  async openAt(ms: number): Promise<void> {
    // The Replayer builds its first page in setTimeout(0)/(1) calls of its constructor; seeking after them
    // keeps its late "first page size" from overriding the size at `ms` (a later page may differ).
    await new Promise((resolve) => setTimeout(resolve, 16));
    this.seek(ms);
    await frameRendered(this.replayer.iframe);
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
    this.seek((this.pendingSeek ?? this.currentTime()) + deltaMs);
  }

  private listen(stage: HTMLElement, scaler: StageScaler): void {
    const r = this.replayer;
    r.on("resize", (size) => scaler.setRecordedSize(size as Size));
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
    bindKeys(this.root, this.timeline.input, { togglePlay: () => this.togglePlay(), seekBy: (d) => this.seekBy(d) });
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
    this.root.dataset.state = state;
    const skipping = this.replayer.speedService.state.matches("skipping") || performance.now() < this.skipBadgeUntil;
    this.skipBadge.hidden = !(this.playing && skipping);
  }
}
