// Set by scripts/build.mjs: each bundle's own stylesheet, minified, as text.
declare const __SS_CSS__: string;
