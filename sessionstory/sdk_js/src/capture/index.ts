// Capture of what rrweb leaves out: page views, clicks and field changes by
// element, scroll depth, errors, console, network calls and web vitals.

import { guard } from "../guard";
import { installClicks } from "./clicks";
import { installConsole } from "./console";
import { installErrors } from "./errors";
import { installInputs } from "./inputs";
import { installNavigation } from "./navigation";
import { installNetwork } from "./network";
import { installScroll } from "./scroll";
import { capped, type Emit } from "./sink";
import { installVitals } from "./vitals";

/**
 * Hooks into the page; each fact then goes to `emit`. One hook failing spares
 * the others. `onUrl` runs as soon as the URL changes (SPA navigation). Returns what sends
 * the page event of this page load, or of a restored one (see navigation).
 */
export const installCapture = (
  emit: Emit,
  ingestUrl: string,
  onUrl: () => void,
): ((restored?: boolean) => void) | undefined => {
  guard(installVitals)(emit);
  guard(installErrors)(capped(emit, 100));
  guard(installConsole)(capped(emit, 200));
  guard(installNetwork)(capped(emit, 500), ingestUrl);
  guard(installClicks)(emit);
  guard(installInputs)(emit);
  return guard(installNavigation)(emit, guard(installScroll)(emit), onUrl);
};
