// Builds every browser bundle the server serves, into sessionstory/web/static/dist/.
// Run by `make` (npm run build); the server never builds anything at run time.
import * as esbuild from "esbuild";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { brotliCompressSync, constants as zlib, gzipSync } from "node:zlib";

const dist = "sessionstory/web/static/dist";
mkdirSync(dist, { recursive: true });

const common = {
  bundle: true,
  minify: true,
  sourcemap: false,
  target: ["es2020"],
  legalComments: "none",
  logLevel: "warning",
};

/**
 * rrweb's record without its canvas recorder. The SDK never records canvas (recordCanvas is
 * always false: replaying it would need scripts in the player's sandbox), yet record() always
 * builds a CanvasManager, so esbuild keeps the canvas observers, their serializers and an inline
 * worker: 3.1 KB of the SDK's 30 KB gzipped budget. The manager is swapped for one that does
 * nothing, which is what rrweb's own does with recordCanvas false.
 *
 * And rrweb's serialized elements kept as objects V8 serializes fast. rrweb deletes each element's
 * `needBlock` after reading it, which turns every element node it emits into a dictionary-mode
 * object, and JSON.stringify, which the SDK runs on every event, leaves its fast path for those
 * (bench/sdk.py's page: stringify took 0.32 profile samples per sample of the page's own script,
 * 0.13 with the property set to undefined instead; about 5 points of bare rrweb's main-thread
 * time). An undefined property is left out of the JSON: what is sent is the same, byte for byte.
 *
 * And rrweb's text-mask check skipped where its answer is never read. An element a mutation adds is
 * serialized without its children (each comes as an add of its own), so whether its text is masked
 * reaches no text; yet rrweb checks it (closest() on it and its ancestors, for the mask class and again
 * for the mask selector). Skipped for such an element unless it is an iframe or a stylesheet link, whose
 * document or late serialization still read the answer. On bench/sdk.py's page, closest() calls go from
 * 758 to 518 a frame. What is recorded stays the same: tests/e2e/test_sdk_rrweb_build.py records pages
 * with the SDK and with unpatched rrweb side by side and compares their events.
 *
 * And rrweb's text-mask check taken through shadow roots. `closest()` stops at a shadow root, so text
 * that a web component (a shadow host) shows under a masked element went out in clear whenever it came
 * in a mutation, and in full snapshots too when the host itself was the masked element (rrweb decides
 * that an element without child nodes shows no text, overlooking its shadow root). The check now goes on
 * from the host, and a text node right under a shadow root is decided by its host. Pages without shadow
 * roots record the same as before (test_sdk_rrweb_build); tests/e2e/test_privacy.py shows the masking.
 *
 * @rrweb/record is pinned: if its code moves, the build fails here instead of shipping it
 * unpatched without a word.
 */
const sdkRrweb = {
  name: "sdk-rrweb",
  setup(build) {
    build.onLoad({ filter: /@rrweb[\\/]record[\\/]dist[\\/]record\.js$/ }, ({ path }) => {
      const source = readFileSync(path, "utf8");
      // From the base64 helpers the canvas serializers open with to the end of CanvasManager.
      const start = source.indexOf('\nvar chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";\n');
      const end = source.indexOf("\nclass StylesheetManager {");
      if (start < 0 || end < start || !source.slice(start, end).includes("\nclass CanvasManager {")) {
        throw new Error(`${path}: rrweb's canvas recorder is not where the SDK build expects it (see sdkRrweb)`);
      }
      const idle = "\nclass CanvasManager { reset() {} freeze() {} unfreeze() {} lock() {} unlock() {} }";
      let contents = source.slice(0, start) + idle + source.slice(end);
      const patch = (code, what, replacement) => {
        if (contents.split(code).length != 2) {
          throw new Error(`${path}: rrweb's ${what} is not where the SDK build expects it (see sdkRrweb)`);
        }
        contents = contents.replace(code, () => replacement);
      };
      patch("\n    delete serializedNode.needBlock;\n", "needBlock delete", "\n    serializedNode.needBlock = void 0;\n");
      const maskCheck = "\n  if (!needsMask) {\n    const checkAncestors = needsMask === void 0;\n";
      const unread = 'skipChild && isElement(n) && toLowerCase(n.tagName) != "iframe" && toLowerCase(n.tagName) != "link"';
      patch(maskCheck, "text-mask check", maskCheck.replace("!needsMask", `!needsMask && !(${unread})`));
      patch(
        "\n    if (!index.childNodes(el).length) {\n      return false;\n    }\n  } else if (index.parentElement(node) === null) {\n    return false;\n",
        "needMaskingText's opening",
        "\n    if (!index.childNodes(el).length && !index.shadowRoot(el)) {\n      return false;\n    }\n  } else if (index.parentElement(node) === null) {\n    if (!(el = shadowHostAbove(node))) return false;\n",
      );
      patch(
        '\n  try {\n    if (typeof maskTextClass === "string") {\n',
        "needMaskingText's checks",
        '\n  try {\n    for (; el; el = checkAncestors ? shadowHostAbove(el) : null) {\n    if (typeof maskTextClass === "string") {\n',
      );
      patch(
        "\n  } catch (e) {\n  }\n  return false;\n}\nfunction onceIframeLoaded(",
        "needMaskingText's end",
        "\n    }\n  } catch (e) {\n  }\n  return false;\n}\n" +
          "function shadowHostAbove(n) {\n  const root = n.getRootNode();\n  return root !== n && isShadowRoot(root) ? root.host : null;\n}\n" +
          "function onceIframeLoaded(",
      );
      return { contents, loader: "js" };
    });
  },
};

/**
 * rrweb's replay with its CSS rewrite for :hover (adaptCssForReplay) exported beside the Replayer, and the way it
 * shares a rewritten stylesheet out between the text nodes of a style element it recorded split (applyCssSplits):
 * the player draws the first frame with the recorded stylesheets and rewrites them right after
 * (player/src/hover-css.ts). The exports are all that changes; @rrweb/replay is pinned, and if either function
 * moves the build fails here.
 */
const rrwebCssRewriteExported = {
  name: "rrweb-css-rewrite-exported",
  setup(build) {
    build.onLoad({ filter: /@rrweb[\\/]replay[\\/]dist[\\/]replay\.js$/ }, ({ path }) => {
      const source = readFileSync(path, "utf8");
      for (const signature of ["function adaptCssForReplay(cssText, cache) {", "function applyCssSplits(n2, cssText, hackCss, cache) {"]) {
        if (!source.includes(`\n${signature}`)) {
          throw new Error(`${path}: rrweb's ${signature} is not where the player build expects it (see rrwebCssRewriteExported)`);
        }
      }
      return { contents: `${source}\nexport { adaptCssForReplay, applyCssSplits };\n`, loader: "js" };
    });
  },
};

/**
 * The player: our UI around rrweb's Replayer, loaded by the session page as a module, so that what only a click
 * needs (the screenshot library, a tenth of it) is a chunk of its own that the first frame never waits for. A chunk
 * player.js imported itself (a helper both files share) would be fetched only once player.js is parsed, a step
 * more before the first frame: the build fails instead.
 */
async function playerBundle() {
  const result = await esbuild.build({
    ...common,
    entryPoints: { player: "sessionstory/player/src/index.ts" },
    outdir: dist,
    format: "esm",
    splitting: true,
    // Class fields as they are: lowered for es2020, they need a helper both files share.
    target: ["es2022"],
    chunkNames: "player-chunks/[name]-[hash]",
    plugins: [rrwebCssRewriteExported],
    metafile: true,
  });
  for (const [file, output] of Object.entries(result.metafile.outputs)) {
    const imported = output.entryPoint ? output.imports.filter((i) => i.kind === "import-statement") : [];
    if (imported.length) {
      throw new Error(`${file} imports ${imported.map((i) => i.path).join(", ")} before it can run (see playerBundle)`);
    }
  }
}

/** A stylesheet bundled and minified, as text: the dashboard bundles carry their own CSS (see web/js/styles.ts). */
async function cssText(entry) {
  const result = await esbuild.build({ ...common, entryPoints: [entry], write: false, outfile: "inline.css" });
  return result.outputFiles[0].text;
}

/** A dashboard bundle: an IIFE with its stylesheet inlined as __SS_CSS__. */
async function dashboardBundle(name) {
  await esbuild.build({
    ...common,
    entryPoints: [`sessionstory/web/js/${name}.ts`],
    outfile: `${dist}/${name}.js`,
    format: "iife",
    define: { __SS_CSS__: JSON.stringify(await cssText(`sessionstory/web/js/${name}.css`)) },
  });
}

await Promise.all([
  // The recorder: one IIFE that a customer's page loads with a <script> tag.
  esbuild.build({
    ...common,
    entryPoints: ["sessionstory/sdk_js/src/index.ts"],
    outfile: `${dist}/sdk.js`,
    format: "iife",
    plugins: [sdkRrweb],
  }),
  // The same recorder for bundlers: `import { init } from ".../sdk.esm.js"`, with its types beside it.
  esbuild.build({
    ...common,
    entryPoints: ["sessionstory/sdk_js/src/esm.ts"],
    outfile: `${dist}/sdk.esm.js`,
    format: "esm",
    plugins: [sdkRrweb],
  }),
  playerBundle(),
  esbuild.build({
    ...common,
    entryPoints: ["sessionstory/player/src/player.css"],
    outfile: `${dist}/player.css`,
  }),
  // The dashboard's daily charts (uPlot) and the click heatmap (rrweb's Replayer + simpleheat).
  dashboardBundle("charts"),
  dashboardBundle("heatmap"),
]);

forgetOldChunks(`${dist}/player-chunks`, 7 * 24 * 3600 * 1000);

/**
 * Chunks are named by their hash, so those of older builds would pile up; yet a tab opened before an
 * upgrade still imports its own player's chunk (the Screenshot button) by that name. This build has just
 * written every chunk it uses, so only those untouched for `keepMs` go.
 */
function forgetOldChunks(dir, keepMs) {
  for (const name of existsSync(dir) ? readdirSync(dir) : []) {
    if (Date.now() - statSync(`${dir}/${name}`).mtimeMs > keepMs) rmSync(`${dir}/${name}`);
  }
}

copyFileSync("node_modules/htmx.org/dist/htmx.min.js", `${dist}/htmx.min.js`);
// htmx's Server-Sent Events extension: the session page's summary streams through it.
copyFileSync("node_modules/htmx-ext-sse/dist/sse.min.js", `${dist}/htmx-ext-sse.min.js`);
copyFileSync("sessionstory/sdk_js/src/sdk.esm.d.ts", `${dist}/sdk.esm.d.ts`);
// The API reader at /schema, served locally.
mkdirSync(`${dist}/swagger`, { recursive: true });
for (const file of ["swagger-ui-bundle.js", "swagger-ui.css"]) {
  copyFileSync(`node_modules/swagger-ui-dist/${file}`, `${dist}/swagger/${file}`);
}
// charts.js already carries uPlot's rules; this copy is for a page that wants to link them itself.
copyFileSync("node_modules/uplot/dist/uPlot.min.css", `${dist}/uplot.css`);

/**
 * Each text file beside a brotli and a gzip copy of itself (`player.js.br`, `player.js.gz`), at their smallest:
 * the server sends the one a browser accepts (web/encoding.py) and never compresses a file at run time. A copy
 * whose file is gone (an old chunk) goes too.
 */
const COMPRESSED = { ".br": (bytes) => brotliCompressSync(bytes, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11 } }),
                     ".gz": (bytes) => gzipSync(bytes, { level: 9 }) };
function compressAll(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) compressAll(path);
    else if (/\.(br|gz)$/.test(entry.name)) {
      if (!existsSync(path.slice(0, -3))) rmSync(path);
    } else if (/\.(js|css|ts|json|svg)$/.test(entry.name)) {
      const bytes = readFileSync(path);
      for (const [suffix, compress] of Object.entries(COMPRESSED)) writeFileSync(path + suffix, compress(bytes));
    }
  }
}
compressAll(dist);

