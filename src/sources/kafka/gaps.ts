/** Offsets [from, to) of a topic partition the broker no longer held when they were due (allowGaps). */
export interface KafkaGap {
  partition: number;
  from: number;
  to: number;
}

/** Gaps as a summary or a run manifest shows them: bounded, whatever the number of ranges. */
export interface KafkaGapsSummary {
  /** Ranges after merging those that touch, and the offsets in them. */
  ranges: number;
  offsets: number;
  /** The first ranges, by partition and offset (at most GAPS_SHOWN). */
  first: KafkaGap[];
}

export const GAPS_SHOWN = 20;

/** Sorted by partition and offset, with ranges that touch or overlap made one: a plan's gap and one found reading right after it are one hole. */
export function mergeGaps(gaps: KafkaGap[]): KafkaGap[] {
  const sorted = gaps.filter((g) => g.to > g.from).sort((a, b) => a.partition - b.partition || a.from - b.from);
  const out: KafkaGap[] = [];
  for (const g of sorted) {
    const last = out[out.length - 1];
    if (last && last.partition === g.partition && g.from <= last.to) last.to = Math.max(last.to, g.to);
    else out.push({ ...g });
  }
  return out;
}

export function summarizeGaps(gaps: KafkaGap[], shown = GAPS_SHOWN): KafkaGapsSummary | undefined {
  const merged = mergeGaps(gaps);
  if (!merged.length) return undefined;
  return { ranges: merged.length, offsets: merged.reduce((n, g) => n + g.to - g.from, 0), first: merged.slice(0, shown) };
}
