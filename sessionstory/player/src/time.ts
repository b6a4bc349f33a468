// Session time as people read it in a player: m:ss, or h:mm:ss past an hour.

const pad2 = (n: number): string => String(n).padStart(2, "0");

/** Formats a duration in milliseconds, rounding down to the whole second shown. */
export function formatTime(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0 ? `${h}:${pad2(m)}:${pad2(s)}` : `${m}:${pad2(s)}`;
}
