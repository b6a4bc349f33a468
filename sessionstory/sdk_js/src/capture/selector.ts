// Short CSS selectors that name an element the same way across visits, so the
// server can group clicks and changes by element.

import { clip } from "./text";

const MAX_CHARS = 300;

/**
 * Ids and classes made by frameworks and CSS-in-JS (ember1234, :r1:, css-1x9k3z,
 * Button_root__a1b2c) change between builds or renders: useless for grouping.
 */
const stable = (word: string): boolean =>
  /^[a-z][\w-]*$/i.test(word) && !/\d{3}|(^|[-_])(?=[a-z]*\d)(?=\d*[a-z])[a-z\d]{5,}($|[-_])/i.test(word);

/** Climbs from the element until a stable id or naming attribute, at most 5 ancestors. */
export function selector(el: Element | null): string {
  const parts: string[] = [];
  for (let i = 0; el && i < 6; i++, el = el.parentElement) {
    const node = el;
    const tag = node.tagName.toLowerCase();
    const attr = ["data-testid", "name", "aria-label"].find((name) => node.getAttribute(name));
    const id = stable(node.id);
    parts.unshift(
      id
        ? "#" + node.id
        : attr
          ? `${tag}[${attr}=${JSON.stringify(node.getAttribute(attr))}]`
          : [tag, ...(node.getAttribute("class") || "").split(/\s+/).filter(stable).slice(0, 2)].join("."),
    );
    if (id || attr || node === document.body) break;
  }
  // The element's own step matters most: shorten from the top.
  while (parts.length > 1 && parts.join(" > ").length > MAX_CHARS) parts.shift();
  return clip(parts.join(" > "), MAX_CHARS);
}
