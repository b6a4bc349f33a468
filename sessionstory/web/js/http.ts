// Fetching JSON from our own API with the dashboard's session cookie, failing with words a person can read.
import { LoadError } from "../../player/src/events";

// One error class for the player's modules and ours: a LoadError's message is shown as it is.
export { LoadError };

/** GETs `url` as JSON; `what` completes "Could not load …" in the error messages. */
export async function fetchJson(url: string, what: string): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  } catch {
    throw new LoadError(`Could not load ${what} (network error).`);
  }
  if (!response.ok) throw new LoadError(`Could not load ${what} (HTTP ${response.status}).`);
  try {
    return await response.json();
  } catch {
    throw new LoadError(`Could not load ${what} (the server sent invalid data).`);
  }
}
