import { createHash } from 'node:crypto';
import type { ListedObject } from './types';

/** A uniform number in [0, 1) from a key: the same key always gives the same number. */
function keyHash(key: string): number {
  return createHash('sha256').update(key).digest().readUIntBE(0, 6) / 2 ** 48;
}

function floorPow2(n: number): number {
  return n <= 1 ? 1 : 2 ** Math.floor(Math.log2(n));
}

/**
 * Groups small objects, in key order, into packs of at most `capBytes`.
 *
 * A pack closes after an object whose key hash h in [0, 1) is below s / (capBytes / 4), where s
 * is the object's size rounded down to a power of two: about one boundary per quarter of the cap,
 * decided by the object's own key and size class, never by its position. A pack also closes
 * before an object that would take it over `capBytes`, and wherever `mustSplit(prev, next)` says
 * (flat files of different raw schemas). So inserting, removing or changing an object moves no
 * boundary outside its own run of objects between two key boundaries.
 */
export function packObjects<T extends ListedObject>(objects: T[], capBytes: number, mustSplit: (prev: T, next: T) => boolean = () => false): T[][] {
  const target = capBytes / 4;
  const packs: T[][] = [];
  let cur: T[] = [];
  let bytes = 0;
  const close = () => {
    if (cur.length) packs.push(cur);
    cur = [];
    bytes = 0;
  };
  for (const o of objects) {
    if (cur.length && (bytes + o.size > capBytes || mustSplit(cur[cur.length - 1], o))) close();
    cur.push(o);
    bytes += o.size;
    if (keyHash(o.key) < floorPow2(o.size) / target) close();
  }
  close();
  return packs;
}

/** Cuts [0, size) into n = ceil(size / maxBytes) equal byte ranges. */
export function splitRanges(size: number, maxBytes: number): [number, number][] {
  const n = Math.max(1, Math.ceil(size / maxBytes));
  const out: [number, number][] = [];
  for (let i = 0; i < n; i++) out.push([Math.round((i * size) / n), Math.round(((i + 1) * size) / n)]);
  return out;
}
