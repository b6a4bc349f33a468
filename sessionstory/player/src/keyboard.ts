// Keyboard shortcuts, as in video players: space plays/pauses, left/right arrows seek 5 s.

const SEEK_STEP_MS = 5000;

export interface KeyActions {
  togglePlay(): void;
  seekBy(deltaMs: number): void;
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
export function bindKeys(root: HTMLElement, seekBar: HTMLInputElement, actions: KeyActions): () => void {
  const onKey = (event: KeyboardEvent): void => {
    const target = event.target instanceof Element ? event.target : document.body;
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    if (!root.isConnected || !isOurs(root, target)) return;
    // Our own seek bar is a range input, but arrows on it should still mean "seek 5 s", not "seek 1 ms".
    if (target !== seekBar && isFormField(target)) return;
    if (event.key === " " && !target.matches("button, a[href], summary")) {
      event.preventDefault(); // also keeps the page from scrolling
      actions.togglePlay();
    } else if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      event.preventDefault();
      actions.seekBy(event.key === "ArrowLeft" ? -SEEK_STEP_MS : SEEK_STEP_MS);
    }
  };
  document.addEventListener("keydown", onKey);
  return () => document.removeEventListener("keydown", onKey);
}
