// Which form fields were changed; never what they were changed to.

import { guard } from "../guard";
import { selector } from "./selector";
import type { Emit } from "./sink";

export const installInputs = (emit: Emit): void => {
  const onChange = (e: Event) => {
    const el = e.target as HTMLInputElement;
    const tag = el.tagName;
    if (/^(INPUT|TEXTAREA|SELECT)$/.test(tag)) {
      emit("input", {
        selector: selector(el),
        type: tag == "INPUT" ? el.type : tag.toLowerCase(),
        name: el.getAttribute("name") || el.id,
      });
    }
  };
  document.addEventListener("change", guard(onChange), { capture: true, passive: true });
};
