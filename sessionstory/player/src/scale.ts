// Fitting the recorded viewport into the player: shrink to fit, never enlarge (1:1 when it fits).

export interface Size {
  width: number;
  height: number;
}

/** The stage may use at most this share of the window's height, so the controls stay on screen (except in full screen). */
const MAX_HEIGHT_SHARE = 0.75;

/** The largest scale <= 1 at which `recorded` fits inside `room`. */
export function fitScale(recorded: Size, room: Size): number {
  if (recorded.width <= 0 || recorded.height <= 0) return 1;
  return Math.min(1, room.width / recorded.width, room.height / recorded.height);
}

/**
 * Keeps rrweb's wrapper (which holds the iframe at the recorded size) scaled to fit the
 * viewport element, and sizes the stage box to the scaled size so the layout around it
 * (the controls) sees the real, visible size rather than the untransformed one.
 */
export class StageScaler {
  private recorded: Size | null = null;
  /** What was applied last: the resize observer's first call, in the first frame, then finds nothing to change. */
  private applied = "";
  private readonly observer: ResizeObserver;
  private readonly onWindowResize = (): void => this.update();

  constructor(
    private readonly viewport: HTMLElement,
    private readonly stage: HTMLElement,
    private readonly wrapper: HTMLElement,
    private readonly onScale: (recorded: Size, scale: number) => void,
  ) {
    // The root's width follows the dashboard's layout; the window's height bounds ours.
    this.observer = new ResizeObserver(() => this.update());
    this.observer.observe(viewport);
    window.addEventListener("resize", this.onWindowResize);
  }

  setRecordedSize(size: Size): void {
    this.recorded = { width: size.width, height: size.height };
    this.update();
  }

  update(): void {
    const room = this.room();
    if (!this.recorded || room.width <= 0) return; // hidden (e.g. in a closed tab): keep the last layout
    const scale = fitScale(this.recorded, room);
    // Written again, the same values would still make the frame lay the player out anew (the size label's text).
    const layout = `${this.recorded.width}x${this.recorded.height} at ${scale} in ${room.width}`;
    if (layout === this.applied) return;
    this.applied = layout;
    this.apply(this.recorded, scale, room.width);
    this.onScale(this.recorded, scale);
  }

  destroy(): void {
    this.observer.disconnect();
    window.removeEventListener("resize", this.onWindowResize);
  }

  private room(): Size {
    const style = getComputedStyle(this.viewport);
    const padding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
    // In full screen the layout gives the viewport all the height left over (see player.css): fill it.
    const full = document.fullscreenElement?.contains(this.viewport) ?? false;
    const height = full
      ? this.viewport.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom)
      : window.innerHeight * MAX_HEIGHT_SHARE;
    return { width: Math.floor(this.viewport.clientWidth - padding), height: Math.floor(height) };
  }

  private apply(recorded: Size, scale: number, roomWidth: number): void {
    const width = Math.round(recorded.width * scale);
    const height = Math.round(recorded.height * scale);
    this.wrapper.style.width = `${recorded.width}px`;
    this.wrapper.style.height = `${recorded.height}px`;
    // No transform at all at 1:1, so the frame is composited exactly like the live page was.
    this.wrapper.style.transform = scale < 1 ? `scale(${scale})` : "";
    this.stage.style.width = `${width}px`;
    this.stage.style.height = `${height}px`;
    // Centred in whole pixels: a half-pixel offset would blur every replayed pixel.
    this.stage.style.marginLeft = `${Math.max(0, Math.floor((roomWidth - width) / 2))}px`;
  }
}
