// When the visitor did something, and the idle stretches in between (shown on the timeline, skipped in playback).

/** rrweb's default inactivePeriodThreshold: at 1x, a gap longer than this between two actions counts as idle. */
export const IDLE_GAP_MS = 10_000;

export interface Gap {
  start: number;
  end: number;
}

/** Idle stretches between sorted activity times (ms), the tail after the last action included. */
export function idleGaps(activity: number[], total: number): Gap[] {
  const times = activity.concat(total);
  const gaps: Gap[] = [];
  for (let i = 1; i < times.length; i++) {
    if (times[i] - times[i - 1] > IDLE_GAP_MS) gaps.push({ start: times[i - 1], end: times[i] });
  }
  return gaps;
}

/** The first activity strictly after `t` (binary search: sessions can hold many thousands), or `total`. */
export function nextActivity(activity: number[], t: number, total: number): number {
  let lo = 0;
  let hi = activity.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (activity[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo < activity.length ? activity[lo] : total;
}
