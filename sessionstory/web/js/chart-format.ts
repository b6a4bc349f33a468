// How days and counts read on the charts' axes and in the tooltip.

const locale = (): string | undefined => document.documentElement.lang || undefined;

let cache: {
  day: Intl.DateTimeFormat;
  fullDay: Intl.DateTimeFormat;
  month: Intl.DateTimeFormat;
  count: Intl.NumberFormat;
  compact: Intl.NumberFormat;
} | null = null;

function formats(): NonNullable<typeof cache> {
  if (!cache) {
    const lang = locale();
    cache = {
      day: new Intl.DateTimeFormat(lang, { month: "short", day: "numeric" }),
      fullDay: new Intl.DateTimeFormat(lang, { weekday: "short", month: "short", day: "numeric", year: "numeric" }),
      month: new Intl.DateTimeFormat(lang, { month: "short", year: "numeric" }),
      count: new Intl.NumberFormat(lang, { maximumFractionDigits: 2 }),
      compact: new Intl.NumberFormat(lang, { notation: "compact", maximumFractionDigits: 1 }),
    };
  }
  return cache;
}

const toDate = (seconds: number): Date => new Date(seconds * 1000);

/** "Nov 20": an axis tick. */
export const formatDay = (seconds: number): string => formats().day.format(toDate(seconds));
/** "Fri, Nov 20, 2026": the tooltip's heading. */
export const formatFullDay = (seconds: number): string => formats().fullDay.format(toDate(seconds));
/** "Nov 2026": an axis tick when ticks are a month or more apart. */
export const formatMonth = (seconds: number): string => formats().month.format(toDate(seconds));
/** "1,234": a value in the tooltip. */
export const formatCount = (n: number): string => formats().count.format(n);
/** "1.2K": a value on the y axis. */
export const formatCompact = (n: number): string => formats().compact.format(n);
