// Finding our widgets in the page: on load, and in every fragment htmx swaps in later.

/** Calls `mount` once for every element matching `selector`, now and whenever htmx loads new content. */
export function mountEach(selector: string, mount: (el: HTMLElement) => void): void {
  const seen = new WeakSet<HTMLElement>();
  const scan = (scope: ParentNode): void => {
    const found = Array.from(scope.querySelectorAll<HTMLElement>(selector));
    if (scope instanceof HTMLElement && scope.matches(selector)) found.unshift(scope);
    for (const el of found) {
      if (seen.has(el)) continue;
      seen.add(el);
      mount(el);
    }
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => scan(document));
  else scan(document);
  document.addEventListener("htmx:load", (event) => {
    if (event.target instanceof Element) scan(event.target.parentNode ?? event.target);
  });
}

/** Calls `unmount` for an element matching `selector` that htmx is about to remove. */
export function onCleanup(selector: string, unmount: (el: HTMLElement) => void): void {
  document.addEventListener("htmx:beforeCleanupElement", (event) => {
    const el = event.target;
    if (el instanceof HTMLElement && el.matches(selector)) unmount(el);
  });
}
