// Short CSS selectors that name an element the same way across visits, so the
// server can group clicks and changes by element.

import { clip } from "./text";

/**
 * Ids and classes made by frameworks and CSS-in-JS (ember1234, :r1:, css-1x9k3z,
 * Button_root__a1b2c) change between builds or renders: useless for grouping.
 */
const stable = (word: string): boolean =>
  /^[a-z][\w-]*$/i.test(word) && !/\d{3}|(^|[-_])(?=[a-z]*\d)(?=\d*[a-z])[a-z\d]{5,}($|[-_])/i.test(word);

/**
 * Climbs from the element until a stable id or naming attribute, at most 5
 * ancestors; at most 300 characters.
 */
export const selector = (el: Element | null): string => {
  const parts: string[] = [];
  for (let i = 0; el && i < 6; i++, el = el.parentElement) {
    const tag = el.tagName.toLowerCase();
    const attr = ["data-testid", "name", "aria-label"].find((name) => el!.getAttribute(name));
    const id = stable(el.id);
    parts.unshift(
      id
        ? "#" + el.id
        : attr
          ? `${tag}[${attr}=${JSON.stringify(el.getAttribute(attr))}]`
          : [tag, ...(el.getAttribute("class") || "").split(/\s+/).filter(stable).slice(0, 2)].join("."),
    );
    if (id || attr || el == document.body) break;
  }
  // The element's own step matters most: shorten from the top.
  while (parts.length > 1 && parts.join(" > ").length > 300) parts.shift();
  return clip(parts.join(" > "), 300);
};
