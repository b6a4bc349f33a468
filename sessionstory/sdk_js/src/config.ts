// The snippet carries no configuration object: everything is read from the
// <script> tag that loaded us, so customers paste one line and nothing else.

export interface Config {
  key: string;
  ingestUrl: string;
  consentRequired: boolean;
}

function ownScript(): HTMLScriptElement | null {
  // currentScript is only set while this file is first evaluated, so this must
  // run synchronously at load; it is null when a loader injected us, hence the
  // fallback to the last matching tag.
  const current = document.currentScript as HTMLScriptElement | null;
  if (current && current.src) return current;
  const tags = document.querySelectorAll<HTMLScriptElement>('script[src*="sdk.js"]');
  return tags.length ? tags[tags.length - 1] : null;
}

export function readConfig(): Config | null {
  const script = ownScript();
  if (!script) return null;
  const src = new URL(script.src, location.href);
  const key = script.getAttribute("data-key") || src.searchParams.get("id");
  if (!key) return null;
  return {
    key,
    // Relative resolution keeps a path prefix: https://x/ss/sdk.js -> https://x/ss/api/v1/ingest.
    ingestUrl: new URL("api/v1/ingest", src).href,
    consentRequired: script.getAttribute("data-consent") === "required",
  };
}
