/** Durations as settings and ingest inputs write them. Pure: the workflow bundle holds it too. */

const DAY = 86_400_000;

/** "3d", "12h", "30m", "45s", a number of seconds, or "0". */
export function durationMs(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v * 1000 : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(v);
  if (!m) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: DAY }[(m[2] ?? 's') as 's'];
  return Math.round(Number(m[1]) * unit);
}

/** A duration as durationMs reads it: "3d", "12h", "1m", "45s", "250ms". */
export function formatMs(ms: number): string {
  for (const [unit, size] of [['d', DAY], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
