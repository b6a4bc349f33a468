// The recorded page's stylesheets as rrweb adapts them for replay, kept in the dashboard's localStorage.
//
// Before it builds a page, rrweb rewrites each stylesheet so hover states and media queries can be replayed
// (postcss, on the main thread): 30-50 ms of the first frame for a documentation site's CSS, the same result every
// time. A viewer watches many sessions of the same site, so the adapted texts are kept across openings, bounded;
// the first opening of a site's stylesheets adapts them as before.
import type { Replayer } from "@rrweb/replay";

const PREFIX = "ss:css:";
const INDEX = "ss:css";
/** Smaller sheets adapt in well under a millisecond: not worth a slot. */
const MIN_CHARS = 2_000;
/** localStorage holds about 5 MB an origin: this much at most of it (sources and adapted texts, in characters). */
const MAX_CHARS = 1_000_000;

/** rrweb's cache of adapted stylesheets, source text to adapted text (`Replayer.cache`, private in its types). */
interface AdaptedCache {
  stylesWithHoverClass: Map<string, string>;
}

/**
 * rrweb's map, reading from localStorage what it does not hold yet and noting what rrweb adds, which keep()
 * writes once the frame is on screen (writing is the slow part).
 */
class StoredCss extends Map<string, string> {
  private readonly used = new Set<string>();
  private readonly added = new Map<string, string>();

  get(source: string): string | undefined {
    const known = super.get(source);
    if (known !== undefined || source.length < MIN_CHARS) return known;
    const adapted = load(source);
    if (adapted === undefined) return undefined;
    super.set(source, adapted);
    this.used.add(keyOf(source));
    return adapted;
  }

  set(source: string, adapted: string): this {
    if (source.length >= MIN_CHARS && !super.has(source)) this.added.set(source, adapted);
    return super.set(source, adapted);
  }

  keep(): void {
    try {
      remember(this.used, this.added);
    } catch {
      // Storage full or switched off: the next opening adapts the sheets again.
    }
    this.used.clear();
    this.added.clear();
  }
}

/** Makes the Replayer read and write adapted stylesheets through localStorage; the returned call writes them. */
export function storeAdaptedCss(replayer: Replayer): () => void {
  const cache = (replayer as unknown as { cache: AdaptedCache }).cache;
  const stored = new StoredCss(); // empty, then filled: Map's constructor would call set() before the fields exist
  for (const [source, adapted] of cache.stylesWithHoverClass) stored.set(source, adapted);
  cache.stylesWithHoverClass = stored;
  return () => stored.keep();
}

/** A 53-bit hash of the text (cyrb53), with its length: the storage key; the stored source is compared in full. */
function keyOf(source: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return `${PREFIX}${(4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36)}:${source.length}`;
}

function load(source: string): string | undefined {
  try {
    const raw = localStorage.getItem(keyOf(source));
    if (raw === null) return undefined;
    const [storedSource, adapted] = JSON.parse(raw) as [unknown, unknown];
    return storedSource === source && typeof adapted === "string" ? adapted : undefined;
  } catch {
    return undefined;
  }
}

/** The kept entries, least recently used first, with their sizes. */
function readIndex(): [string, number][] {
  try {
    const index = JSON.parse(localStorage.getItem(INDEX) ?? "[]") as unknown;
    return Array.isArray(index) ? index.filter((e): e is [string, number] => Array.isArray(e) && typeof e[0] === "string" && typeof e[1] === "number") : [];
  } catch {
    return [];
  }
}

/** Moves the entries used to the end, adds the new ones, and drops the oldest past MAX_CHARS. */
function remember(used: Set<string>, added: Map<string, string>): void {
  if (used.size === 0 && added.size === 0) return;
  const fresh = new Map<string, number>();
  for (const [source, adapted] of added) {
    const chars = source.length + adapted.length;
    if (chars > MAX_CHARS / 2) continue;
    const key = keyOf(source);
    localStorage.setItem(key, JSON.stringify([source, adapted]));
    fresh.set(key, chars);
  }
  const index = readIndex();
  const touched = index.filter(([key]) => used.has(key) && !fresh.has(key));
  const kept = index.filter(([key]) => !used.has(key) && !fresh.has(key)).concat(touched, [...fresh]);
  let total = kept.reduce((sum, [, chars]) => sum + chars, 0);
  while (total > MAX_CHARS && kept.length > 0) {
    const [key, chars] = kept.shift()!;
    localStorage.removeItem(key);
    total -= chars;
  }
  localStorage.setItem(INDEX, JSON.stringify(kept));
}
