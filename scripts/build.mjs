// Builds every browser bundle the server serves, into sessionstory/web/static/dist/.
// Run by `make` (npm run build); the server never builds anything at run time.
import * as esbuild from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";

const dist = "sessionstory/web/static/dist";
mkdirSync(dist, { recursive: true });

const common = {
  bundle: true,
  minify: true,
  sourcemap: false,
  target: ["es2019"],
  legalComments: "none",
  logLevel: "warning",
};

await Promise.all([
  // The recorder: one IIFE that a customer's page loads with a <script> tag.
  esbuild.build({
    ...common,
    entryPoints: ["sessionstory/sdk_js/src/index.ts"],
    outfile: `${dist}/sdk.js`,
    format: "iife",
  }),
  // The player: our UI around rrweb's Replayer, loaded by the session page.
  esbuild.build({
    ...common,
    entryPoints: ["sessionstory/player/src/index.ts"],
    outfile: `${dist}/player.js`,
    format: "iife",
  }),
  esbuild.build({
    ...common,
    entryPoints: ["sessionstory/player/src/player.css"],
    outfile: `${dist}/player.css`,
  }),
]);

copyFileSync("node_modules/htmx.org/dist/htmx.min.js", `${dist}/htmx.min.js`);
