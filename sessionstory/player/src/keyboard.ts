// Keyboard shortcuts, as in video players: space plays/pauses, left/right arrows seek 5 s,
// a digit picks the speed it names (2: 2x), f toggles full screen, ? shows the list.

const SEEK_STEP_MS = 5000;

export interface KeyActions {
  togglePlay(): void;
  seekBy(deltaMs: number): void;
  /** One of the player's speeds. */
  pickSpeed(speed: number): void;
  toggleFullscreen(): void;
  toggleHelp(): void;
}

/** Where keys belong to the focused element (typing, choosing, toggling): never take them. */
function isFormField(el: Element): boolean {
  if (el instanceof HTMLElement && el.isContentEditable) return true;
  return el.matches("input, textarea, select");
}

/** Keys pressed inside a player go to it; keys pressed elsewhere on the page go to the page's first player. */
function isOurs(root: HTMLElement, target: Element): boolean {
  const owner = target.closest('[data-testid="player"]');
  return owner ? owner === root : document.querySelector('[data-testid="player"]') === root;
}

/** Starts listening; returns a function that stops. */
export function bindKeys(
  root: HTMLElement,
  seekBar: HTMLInputElement,
  actions: KeyActions,
  speeds: readonly number[],
): () => void {
  const onKey = (event: KeyboardEvent): void => {
    const target = event.target instanceof Element ? event.target : document.body;
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    if (!root.isConnected || !isOurs(root, target)) return;
    // Our own seek bar is a range input, but arrows on it should still mean "seek 5 s", not "seek 1 ms".
    if (target !== seekBar && isFormField(target)) return;
    const digit = /^[1-9]$/.test(event.key) ? Number(event.key) : 0;
    if (event.key === " " && !target.matches("button, a[href], summary, [role=tab]")) {
      event.preventDefault(); // also keeps the page from scrolling
      actions.togglePlay();
    } else if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      event.preventDefault();
      actions.seekBy(event.key === "ArrowLeft" ? -SEEK_STEP_MS : SEEK_STEP_MS);
    } else if (speeds.includes(digit)) {
      event.preventDefault();
      actions.pickSpeed(digit);
    } else if (event.key === "f" || event.key === "F") {
      event.preventDefault();
      actions.toggleFullscreen();
    } else if (event.key === "?") {
      event.preventDefault();
      actions.toggleHelp();
    }
  };
  document.addEventListener("keydown", onKey);
  return () => document.removeEventListener("keydown", onKey);
}
