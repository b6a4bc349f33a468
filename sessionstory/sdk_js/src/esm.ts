// SessionStory recorder for bundlers:
//   import { init } from "./sdk.esm.js";   // from {PUBLIC_URL}/sdk.esm.js
//   const sessionstory = init({ key: "PUBLIC_KEY", server: "https://replay.example.com" });
// The same recorder as the script tag, started with the options instead of the tag's attributes.
import type { Api } from "./api";
import { boot } from "./boot";

export type SessionStory = Api;

export interface InitOptions {
  /** The project's public key (the snippet's data-key). */
  key: string;
  /** Where SessionStory runs, e.g. "https://replay.example.com" (a path prefix is kept). */
  server: string;
  /** Hold recording until sessionstory.consent(true). */
  requireConsent?: boolean;
}

/** Starts recording (once per page) and returns the API, also at window.sessionstory. */
export const init = (options: InitOptions): SessionStory => {
  const base = options.server.endsWith("/") ? options.server : options.server + "/";
  boot(options.key ? [options.key, new URL("api/v1/ingest", new URL(base, location.href)).href, !!options.requireConsent] : "");
  return (window as unknown as { sessionstory: SessionStory }).sessionstory;
};
