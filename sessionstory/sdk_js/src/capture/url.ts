// URLs as recorded: query values often carry tokens, emails or search terms.

import { clip } from "./text";

/** Absolute, without fragment or credentials, every query value replaced by "*". */
export function scrubUrl(raw: string): string {
  try {
    const u = new URL(raw, document.baseURI);
    u.hash = u.username = u.password = "";
    u.search = u.search.replace(/=[^&]*/g, "=*");
    return clip(u.href, 2048);
  } catch (_) {
    return clip(String(raw).split(/[?#]/)[0], 2048);
  }
}
