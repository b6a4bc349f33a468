// The project's privacy settings (GET /api/v1/config), and the detectors of personal data
// that `balanced` and `strict` mask before anything leaves the browser. The server applies
// the same patterns again at ingest (sessionstory/privacy.py): keep the two in step.

import { attempt, guard } from "./guard";

export interface Privacy {
  level: "strict" | "balanced" | "relaxed";
  block: string[];
  mask: string[];
  ignore: string[];
  /** Globs of pages never recorded: "/admin/*" (a path) or "https://shop.example/admin/*". */
  urls: string[];
  /** Honour Do Not Track and Global Privacy Control. */
  dnt: boolean;
  /** % of sessions recorded. */
  sample: number;
}

/** When the config can't be fetched: the safest reasonable default. */
const FALLBACK: Privacy = { level: "balanced", block: [], mask: [], ignore: [], urls: [], dnt: true, sample: 100 };

/** The project's settings, or the fallback after 3 s or any failure; never rejects. */
export const loadPrivacy = (url: string): Promise<Privacy> =>
  new Promise((resolve) => {
    setTimeout(resolve, 3e3, FALLBACK);
    fetch(url, { credentials: "omit" })
      .then((r) => r.json())
      .then(
        guard((c: Privacy) => {
          // Selectors the browser refuses would make rrweb's matching throw: dropped.
          const valid = (list: unknown) =>
            (Array.isArray(list) ? list : []).filter(
              (s) => typeof s == "string" && attempt(() => (document.createElement("i").matches(s), 1)),
            );
          resolve({
            level: ["strict", "balanced", "relaxed"].includes(c.level) ? c.level : "balanced",
            block: valid(c.block),
            mask: valid(c.mask),
            ignore: valid(c.ignore),
            urls: (Array.isArray(c.urls) ? c.urls : []).filter((u) => typeof u == "string"),
            dnt: c.dnt !== false,
            sample: +c.sample >= 0 ? +c.sample : 100,
          });
        }),
      )
      .catch(() => resolve(FALLBACK));
  });

/** Do Not Track or Global Privacy Control is on. */
export const optedOut = (): boolean => {
  const n = navigator as any;
  return n.globalPrivacyControl === true || n.doNotTrack == "1" || (window as any).doNotTrack == "1";
};

/** Whether a rule covers `href`; `*` matches anything, and "/admin/*" covers "/admin" too. */
export const urlBlocked = (rules: string[], href: string): boolean =>
  rules.some((rule) => {
    const body = rule
      .split("*")
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*");
    const re = new RegExp("^" + (rule.endsWith("/*") ? body.slice(0, -3) + "(/.*)?" : body) + "$", "i");
    const url = new URL(href);
    return re.test(rule.includes("://") ? url.origin + url.pathname : url.pathname);
  });

/** Whether a session is recorded at `rate` %: the same answer for the same session id, on every page. */
export const sampled = (sessionId: string, rate: number): boolean => {
  // FNV-1a of the id, in 0-9999.
  let h = 2166136261;
  for (let i = 0; i < sessionId.length; i++) h = Math.imul(h ^ sessionId.charCodeAt(i), 16777619);
  return (h >>> 0) % 1e4 < rate * 100;
};

// -- detectors --------------------------------------------------------------------

const EMAIL = /[A-Za-z0-9._%+-]{1,64}(?:@|%40)[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}/g;
const CARD = /\b(?:\d{13,19}|\d{4}([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?|\d{4}([ -])\d{6}\2\d{4,5})\b/g;
const PHONE =
  /\+\d{1,3}(?:[ .-]?\(\d{1,4}\))?(?:[ .-]?\d{1,5}){2,5}\b|\(\d{2,5}\)[ .-]?\d{2,4}[ .-]?\d{3,4}\b|\b\d{2,4}[ .-]\d{2,4}[ .-]\d{2,4}(?:[ .-]\d{2,4}){0,2}\b/g;
const DIGITS = /\d(?:[ .()+-]{0,2}\d){7}/;
/** What either detector needs, in one scan: most text has neither (a third faster than the two tests, in V8). */
const SUSPECT = /@|%40|\d(?:[ .()+-]{0,2}\d){7}/;

/** Each non-space character as "*": a masked string keeps its length, so a replay keeps its layout. */
export const stars = (s: string): string => s.replace(/\S/g, "*");

const luhn = (digits: string): boolean => {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = +digits[digits.length - 1 - i];
    if (i % 2) d = d > 4 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 == 0;
};

/** A length some issuer uses for this prefix, and Luhn-valid (so timestamps, starting with 1, and most ids are not cards). */
const isCard = (text: string): boolean => {
  const d = text.replace(/\D/g, "");
  const n = d.length;
  const p2 = +d.slice(0, 2);
  const p3 = +d.slice(0, 3);
  const p4 = +d.slice(0, 4);
  const long = n >= 16 && n <= 19;
  return (
    (d[0] == "4"
      ? n == 13 || n == 16 || n == 19
      : (p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)
        ? n == 16
        : p2 == 34 || p2 == 37
          ? n == 15
          : p2 == 36 || p2 == 38 || p2 == 39 || (p3 >= 300 && p3 <= 305)
            ? n >= 14 && n <= 19
            : (p4 >= 3528 && p4 <= 3589) || p4 == 6011 || p2 == 62 || p2 == 65 || (p3 >= 644 && p3 <= 649)
              ? long
              : [50, 56, 57, 58, 67].includes(p2) && long) && luhn(d)
  );
};

const isPhone = (text: string): boolean => {
  const groups = text.match(/\d+/g)!;
  const n = groups.join("").length;
  if (text[0] == "+") return n >= 8 && n <= 15;
  if (text[0] == "(") return n >= 9 && n <= 11;
  const rest = groups.slice(1);
  return (
    n >= 10 &&
    n <= 11 &&
    !(groups[0].length == 4 && groups[1].length <= 2) && // a date: 2024-05-01 10
    !rest.every((g) => g.length == 3) && // thousands: 12 345 678 901
    !(text.includes(".") && groups.every((g) => g.length <= 3)) // an address: 192.168.100.12
  );
};

/** `text` with e-mail addresses, Luhn-valid card numbers and phone numbers masked. */
export const maskPii = (text: string): string => {
  // The shortest a detector masks: "a@b.cc"; a phone or card has 8 digits or more. Most attribute
  // values and texts of a page (class names, ids, labels) are shorter: no regex runs for them.
  if (text.length < 6 || !SUSPECT.test(text)) return text;
  if (/@|%40/.test(text)) text = text.replace(EMAIL, stars);
  if (DIGITS.test(text)) {
    text = text.replace(CARD, (m) => (isCard(m) ? stars(m) : m));
    text = text.replace(PHONE, (m) => (isPhone(m) ? stars(m) : m));
  }
  return text;
};

/** Every string in `value` (objects and arrays too) through maskPii. */
export const maskDeep = (value: any): any =>
  typeof value == "string"
    ? maskPii(value)
    : value && typeof value == "object"
      ? (Object.keys(value).forEach((k) => (value[k] = maskDeep(value[k]))), value)
      : value;

// -- over rrweb's events ----------------------------------------------------------

/** What `strict` masks besides text: attributes a person reads. */
const TEXT_ATTRIBUTES = ["alt", "title", "placeholder", "aria-label", "aria-description", "aria-valuetext", "label"];

/** Attribute values: PII masked (and in strict, readable ones masked whole). Inlined CSS and data: URLs are left. */
const maskAttributes = (attributes: Record<string, unknown>, strict: boolean): void => {
  for (const name in attributes) {
    const v = attributes[name];
    if (typeof v == "string" && name != "_cssText" && name != "style" && !v.startsWith("data:")) {
      attributes[name] = strict && TEXT_ATTRIBUTES.includes(name) ? stars(v) : maskPii(v);
    }
  }
};

/**
 * Text that rrweb did not mask whole: its personal data (in strict, all of it: rrweb masks text
 * whole only under an element, and a shadow root's own text has none).
 */
const maskText = (text: string, strict: boolean): string => (strict ? stars(text) : maskPii(text));

const maskTree = (node: any, strict: boolean): void => {
  // Iterative: a page may nest deeply.
  const stack = [node];
  while ((node = stack.pop())) {
    if (node.attributes) maskAttributes(node.attributes, strict);
    else if (node.type == 3 && !node.isStyle) node.textContent = maskText(node.textContent, strict);
    // No spread: it would copy the children into an arguments list first.
    for (const child of node.childNodes || []) stack.push(child);
  }
};

/**
 * rrweb masks text whole where it must (see recorder.ts); the personal data in the rest of the
 * text, attribute values and the page URL are masked here, in the event itself, before it is buffered.
 */
export const maskEvent = (event: any, strict: boolean): void => {
  const data = event.data;
  if (event.type == 4) data.href = maskPii(data.href);
  else if (event.type == 2) maskTree(data.node, strict);
  else if (event.type == 3 && data.source == 0) {
    for (const t of data.texts) if (t.value) t.value = maskText(t.value, strict);
    for (const a of data.attributes) maskAttributes(a.attributes, strict);
    for (const add of data.adds) maskTree(add.node, strict);
  }
};
