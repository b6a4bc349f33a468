// The snippet carries no configuration object: everything is read from the
// <script> tag that loaded us, so customers paste one line and nothing else.

export type Config = [key: string, ingestUrl: string, consentRequired: boolean];

/** Falsy when the SDK was loaded without a key. */
export const readConfig = (): Config | "" | null | undefined => {
  // currentScript is only set while this file is first evaluated, so this must
  // run synchronously at load; it is null when a loader injected us, hence the
  // fallback to the last matching tag.
  let script = document.currentScript as HTMLScriptElement | null | undefined;
  if (!script?.src) script = [...document.querySelectorAll<HTMLScriptElement>('script[src*="sdk.js"]')].pop();
  if (!script) return;
  // .src is absolute.
  const src = new URL(script.src);
  const key = script.getAttribute("data-key") || src.searchParams.get("id");
  return (
    key && [
      key,
      // Relative resolution keeps a path prefix: https://x/ss/sdk.js -> https://x/ss/api/v1/ingest.
      new URL("api/v1/ingest", src).href,
      // data-require-consent (any value but "false"), or the older data-consent="required".
      (script.getAttribute("data-require-consent") ?? "false") != "false" ||
        script.getAttribute("data-consent") == "required",
    ]
  );
};
