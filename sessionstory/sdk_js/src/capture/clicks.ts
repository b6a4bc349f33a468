// What was clicked, named and labelled the way a person would see it.

import { guard } from "../guard";
import { selector } from "./selector";
import type { Emit } from "./sink";
import { clip } from "./text";
import { scrubUrl } from "./url";

/** The page's privacy markers, as given to rrweb, and the project's mask and block selectors. */
export const masked = [".ss-mask,[data-ss-mask],.ss-block,[data-ss-block]"];

/** Visible label; never a field's value, nor text the page masks or blocks. */
const label = (el: Element): string => {
  const sel = masked.join();
  if (el.closest(sel) || el.querySelector(sel)) return "";
  const all = el.textContent || "";
  const text = /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName)
    ? el.getAttribute("placeholder") || el.getAttribute("aria-label") || el.getAttribute("name")
    : // innerText lays the subtree out: for a big container, raw text will do.
      all.length > 2000 ? all : (el as HTMLElement).innerText;
  return clip((text || "").replace(/\s+/g, " ").trim(), 100);
};

export const installClicks = (emit: Emit): void => {
  const onClick = (e: MouseEvent) => {
    const target = e.target as Element;
    if (!target.closest) return; // the document itself
    const el = target.closest("a,button,[role=button],input,select,textarea,label,summary") || target;
    const link = target.closest("a[href]");
    emit("click", {
      selector: selector(el),
      text: label(el),
      tag: el.tagName.toLowerCase(),
      x: Math.round(e.pageX),
      y: Math.round(e.pageY),
      vw: innerWidth,
      vh: innerHeight,
      href: link ? scrubUrl(link.getAttribute("href")!) : undefined, // left out of the JSON
    });
  };
  document.addEventListener("click", guard(onClick), { capture: true, passive: true });
};
