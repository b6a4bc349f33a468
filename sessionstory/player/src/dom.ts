// Building the player's own DOM (never the replayed page's: rrweb does that).

type Child = Node | string;

/** Creates an element with attributes and children; text is always set as text, never parsed as HTML. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  children: Child[] = [],
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  el.append(...children);
  return el;
}

/** Parses one of our own constant SVG icons (never data from a session). */
export function icon(svgMarkup: string): SVGElement {
  const holder = document.createElement("span");
  holder.innerHTML = svgMarkup;
  const svg = holder.firstElementChild as SVGElement;
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  return svg;
}
