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

/** Offsets [start, end) of one topic partition. */
export interface Span {
  start: number;
  end: number;
}

/** The pieces of [from, to) that none of `have` covers, in offset order. */
export function uncovered(have: Span[], from: number, to: number): Span[] {
  const out: Span[] = [];
  let a = from;
  for (const r of [...have].sort((x, y) => x.start - y.start || x.end - y.end)) {
    if (a >= to || r.start >= to) break;
    if (r.end <= a) continue;
    if (r.start > a) out.push({ start: a, end: r.start });
    a = r.end;
  }
  if (a < to) out.push({ start: a, end: to });
  return out;
}

/** One topic partition's part of a plan (planOffsets). */
export interface PartitionOffsets {
  /** In offset order: ranges the dataset's snapshot already holds (reused as they are) and new ones to read. */
  ranges: (OffsetRange & { published: boolean })[];
  /** Offsets from the start that no published range holds and the broker no longer has (below its log start). */
  gone: Span[];
  /** Where this run's offsets end (exclusive): the last stable offset, or a published range's end past it. */
  end: number;
}

/**
 * Plans topic partition `p` from `start` to `high`. Ranges the dataset's latest snapshot holds
 * (`published`: a run that ended partial publishes its ranges without committing offsets) are
 * kept as they are, and only the offsets none of them holds are cut into new ranges (aligned,
 * cutRange). So a new range never overlaps a published one: no offset is read twice or held
 * twice, whatever partitionRecords was, and offsets retention removed since are not asked of
 * the broker when the snapshot holds them. Offsets below the log start `low` that no published
 * range holds are `gone` (OffsetsGone, or gaps with allowGaps).
 */
export function planOffsets(p: number, o: { start: number; low: number; high: number; size: number; published: Span[] }): PartitionOffsets {
  const published = o.published.filter((r) => r.end > o.start && r.end > r.start);
  const end = published.reduce((e, r) => Math.max(e, r.end), o.high);
  const ranges: PartitionOffsets['ranges'] = published.map((r) => ({ partition: p, start: r.start, end: r.end, published: true }));
  const gone: Span[] = [];
  for (const h of uncovered(published, o.start, end)) {
    if (h.start < o.low) gone.push({ start: h.start, end: Math.min(h.end, o.low) });
    if (h.end > o.low) ranges.push(...cutRange(p, Math.max(h.start, o.low), h.end, o.size).map((r) => ({ ...r, published: false })));
  }
  ranges.sort((a, b) => a.start - b.start || a.end - b.end);
  return { ranges, gone, end };
}
