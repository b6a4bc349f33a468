// Page views: the first recorded one, then each SPA route change, which never
// reloads the page and so is seen through the history API and its events.

import { guard } from "../guard";
import type { Emit } from "./sink";
import { clip } from "./text";

type Kind = "load" | "push" | "replace" | "pop" | "hash";

/** The URL the visitor is on, as far as page events go. */
let current = location.href;
/** Sends a page event; true if it was recorded. */
let send = (_kind: Kind, _url: string, _referrer: string) => false;
let loaded = false;

/** `onPage` runs after each recorded page event. */
export function installNavigation(emit: Emit, onPage: () => void): void {
  send = (kind, url, referrer) => {
    const sent = emit("page", {
      url: clip(url, 2048),
      title: clip(document.title, 300),
      referrer: clip(referrer, 2048),
      kind,
    });
    if (sent) onPage();
    return sent;
  };
  const changed = guard((kind: Kind) => {
    const from = current;
    const to = (current = location.href);
    if (to === from) return;
    // Fragment navigations fire popstate too (first, in Chrome), not only hashchange.
    if (kind === "pop" && to.split("#")[0] === from.split("#")[0]) kind = "hash";
    // Routers set the title when the new view renders, just after the URL changes.
    setTimeout(guard(send), 100, kind, to, from);
  });
  for (const kind of ["push", "replace"] as const) {
    const name = `${kind}State` as const;
    const original = history[name];
    history[name] = function (this: History, ...args: Parameters<History["pushState"]>) {
      const result = original.apply(this, args);
      changed(kind);
      return result;
    };
  }
  const onPop = () => changed("pop");
  addEventListener("popstate", onPop);
  addEventListener("hashchange", onPop);
}

/** The page event of this page load, once recording has started. */
export function pageLoaded(): void {
  if (!loaded) loaded = send("load", (current = location.href), document.referrer);
}
