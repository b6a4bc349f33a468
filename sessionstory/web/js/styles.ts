// Our stylesheets travel inside the bundles (the build inlines them), so a page needs no extra <link>.
// A constructed stylesheet is not an inline style for a Content-Security-Policy: style-src 'self' keeps working.

const adopted = new Set<string>();

/** Adds `css` to the document once per `key`. */
export function adoptStyles(key: string, css: string): void {
  if (adopted.has(key)) return;
  adopted.add(key);
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  } catch {
    // Browsers without constructable stylesheets (Safari before 16.4): a plain <style> element.
    const style = document.createElement("style");
    style.dataset.ss = key;
    style.textContent = css;
    document.head.append(style);
  }
}
