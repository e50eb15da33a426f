/** One topic partition's planned range of offsets, [start, end). */
export interface OffsetRange {
  partition: number;
  start: number;
  end: number;
}

/**
 * Cuts [start, end) into ranges of at most `size` offsets, with cut points on multiples of
 * `size`. Aligned cuts make a re-run after a failed (uncommitted) run plan the same ranges again,
 * however far the high watermark moved meanwhile: only the last, partial range differs, so the
 * committed partitions of the failed run are reused instead of written twice.
 */
export function cutRange(partition: number, start: number, end: number, size: number): OffsetRange[] {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) throw new Error(`bad offset range [${start}, ${end}) of partition ${partition}`);
  if (!Number.isInteger(size) || size < 1) throw new Error(`bad range size ${size}`);
  const out: OffsetRange[] = [];
  let a = start;
  while (a < end) {
    const b = Math.min(end, (Math.floor(a / size) + 1) * size);
    out.push({ partition, start: a, end: b });
    a = b;
  }
  return out;
}

/** The readable name of a Kafka partition: `orders#2@1000-2000`. */
export function rangeName(topic: string, r: OffsetRange): string {
  return `${topic}#${r.partition}@${r.start}-${r.end}`;
}

/** The topic partition and range a Kafka partition's name says (Kafka topic names hold no `#` or `@`), or undefined for any other name. */
export function parseRangeName(name: string): { topic: string; partition: number; start: number; end: number } | undefined {
  const m = /^([^#@]+)#(\d+)@(\d+)-(\d+)$/.exec(name);
  if (!m) return undefined;
  const [partition, start, end] = [Number(m[2]), Number(m[3]), Number(m[4])];
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start > end) return undefined;
  return { topic: m[1], partition, start, end };
}
