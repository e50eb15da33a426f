import type { Piece } from './partitioning/types';

/**
 * Partitions at most this big (source bytes) are "small": a workflow runs several of them per
 * activity, because for them the per-activity cost (a Temporal task, its history events, the
 * SDK's work) outweighs the data work. 2 MiB is eight default packed partitions (256 KiB).
 */
export const SMALL_PARTITION_BYTES = 2 * 1024 ** 2;

/** Bytes a partition reads from its source. */
export function partitionBytes(pieces: Piece[]): number {
  let n = 0;
  for (const p of pieces) {
    if (!p.range) n += p.size;
    else n += (p.range[1] < 0 ? p.size : p.range[1]) - p.range[0];
  }
  return n;
}

/**
 * Which partitions are small, as hex: 4 partitions per digit, lowest bit first. About 25 KB at
 * 100k partitions, so it rides in the plan summary the workflow holds (it needs no Buffer).
 */
export function smallMask(bytes: number[], max = SMALL_PARTITION_BYTES): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 4) {
    let d = 0;
    for (let b = 0; b < 4 && i + b < bytes.length; b++) if (bytes[i + b] <= max) d |= 1 << b;
    out += d.toString(16);
  }
  return out;
}

export function isSmall(mask: string | undefined, i: number): boolean {
  if (!mask || i < 0 || (i >> 2) >= mask.length) return false;
  return ((parseInt(mask[i >> 2], 16) >> (i & 3)) & 1) === 1;
}
