// SessionStory recorder, loaded by
//   <script src="{PUBLIC_URL}/sdk.js" data-key="{public_key}" async></script>
// Everything it needs is read from that tag (config.ts), at once: currentScript is only
// set while the file is first evaluated.
import { boot } from "./boot";
import { readConfig } from "./config";

boot(readConfig());
