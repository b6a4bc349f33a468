// Type declarations of sdk.esm.js, the SessionStory recorder for bundlers. Kept by hand (the build has
// no TypeScript compiler): it mirrors the Api of src/api.ts, which tests/e2e/test_esm.py checks.

export interface SessionStory {
  /** Names the visitor; later batches carry the user id. */
  identify(userId: string, traits?: Record<string, unknown>): void;
  /** Records a custom event. */
  track(name: string, props?: Record<string, unknown>): void;
  /** Resolves once every event captured so far is acknowledged by the server. */
  flush(): Promise<void>;
  stop(): void;
  start(): void;
  /** Grants or withdraws consent; withdrawing forgets what is unsent. */
  consent(granted: boolean): void;
  sessionId(): string;
}

export interface InitOptions {
  /** The project's public key (the snippet's data-key). */
  key: string;
  /** Where SessionStory runs, e.g. "https://replay.example.com". */
  server: string;
  /** Hold recording until consent(true). */
  requireConsent?: boolean;
}

/** Starts recording (once per page) and returns the API, also at window.sessionstory. */
export function init(options: InitOptions): SessionStory;
