// URLs as recorded: query values often carry tokens, emails or search terms.

import { attempt } from "../guard";
import { clip } from "./text";

/** Absolute, without fragment or credentials, every query value replaced by "*". */
export const scrubUrl = (raw: any): string =>
  clip(
    attempt(() => {
      const u = new URL(raw, document.baseURI);
      u.hash = u.username = u.password = "";
      u.search = u.search.replace(/=[^&]*/g, "=*");
      return u.href;
    }) ?? String(raw).split(/[?#]/)[0], // not a URL: its part before any query or fragment
    2048,
  );
