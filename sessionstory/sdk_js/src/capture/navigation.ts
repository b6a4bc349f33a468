// Page views: the first recorded one, then each SPA route change, which never
// reloads the page and so is seen through the history API and its events.

import { guard } from "../guard";
import { patch } from "./patch";
import type { Emit } from "./sink";
import { clip } from "./text";

type Kind = "load" | "push" | "replace" | "pop" | "hash" | "restore";

/**
 * Hooks into the page; `onPage` runs after each recorded page event. Returns
 * what sends the page event of this page load once recording has started, and
 * (`restored` true) another each time the page comes back from the back/forward cache.
 */
export const installNavigation = (emit: Emit, onPage?: () => void, onUrl?: () => void): ((restored?: boolean) => void) => {
  /** The URL the visitor is on, as far as page events go. */
  let current = location.href;
  let loaded: unknown;
  /** Sends a page event; true if it was recorded. */
  const send = (kind: Kind, url: string, referrer: string) =>
    emit("page", {
      url: clip(url, 2048),
      title: clip(document.title, 300),
      referrer: clip(referrer, 2048),
      kind,
    }) && (onPage?.(), true);
  const changed = guard((kind: Kind) => {
    const from = current;
    const to = (current = location.href);
    if (to == from) return;
    // At once, before the new view renders: a page that must not be recorded is not.
    onUrl?.();
    // Fragment navigations fire popstate too (first, in Chrome), not only hashchange.
    if (kind == "pop" && to.split("#")[0] == from.split("#")[0]) kind = "hash";
    // Routers set the title when the new view renders, just after the URL changes.
    setTimeout(guard(send), 100, kind, to, from);
  });
  for (const kind of ["push", "replace"] as const) {
    patch(history, `${kind}State`, (call) => {
      const result = call();
      changed(kind);
      return result;
    });
  }
  const onPop = () => changed("pop");
  addEventListener("popstate", onPop);
  addEventListener("hashchange", onPop);
  return (restored) => {
    // A restored page is a page view of its own (its referrer, the later page, is not known here).
    if (restored) send("restore", location.href, "");
    else loaded ||= send("load", (current = location.href), document.referrer);
  };
};
