import type { PartitionManifest } from './partition';

/**
 * Why a Kafka partition manifest does not account for every offset of its range, or null when it
 * does (or says nothing about offsets: manifests from before `offsets`, and other sources). Every
 * offset is a record read (counts.in: output, rejects or dropped), or one of `offsets`; and the
 * gaps it counts are the ones its input lists inside the range.
 */
export function offsetsProblem(m: Pick<PartitionManifest, 'counts' | 'offsets' | 'inputs'>): string | null {
  const o = m.offsets;
  const input = m.inputs[0];
  if (!o || !input?.range) return null;
  const [start, end] = input.range;
  const sum = m.counts.in + o.control + o.aborted + o.compacted + o.gaps;
  if (sum !== end - start) {
    return `offsets do not add up: records in ${m.counts.in} + control ${o.control} + aborted ${o.aborted} + compacted ${o.compacted} + gaps ${o.gaps} = ${sum}, but the range ${start}-${end} holds ${end - start} offsets`;
  }
  const listed = (input.gaps ?? []).reduce((n, [a, b]) => n + Math.max(0, Math.min(b, end) - Math.max(a, start)), 0);
  if (listed !== o.gaps) return `offsets count ${o.gaps} gap offsets, but the gaps listed inside the range ${start}-${end} hold ${listed}`;
  return null;
}
