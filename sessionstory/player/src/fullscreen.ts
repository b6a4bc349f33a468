// Full screen for the player's root element (the Fullscreen API), so the panels come along with the replay.

export function isFullscreen(root: HTMLElement): boolean {
  return document.fullscreenElement === root;
}

export function toggleFullscreen(root: HTMLElement): void {
  if (!document.fullscreenEnabled) return;
  // Refusals (no user gesture, a policy) leave things as they were: nothing to report.
  if (isFullscreen(root)) void document.exitFullscreen().catch(() => undefined);
  else void root.requestFullscreen({ navigationUI: "hide" }).catch(() => undefined);
}

/** Calls `onChange` whenever the root enters or leaves full screen. */
export function watchFullscreen(root: HTMLElement, onChange: (on: boolean) => void): void {
  let was = isFullscreen(root);
  document.addEventListener("fullscreenchange", () => {
    const on = isFullscreen(root);
    if (on !== was) onChange((was = on));
  });
}
