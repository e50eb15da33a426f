import { createHash } from 'node:crypto';
import type { Piece } from './types';

/**
 * A partition's id: a hash of what it reads (object keys, and the index of a cut object's chunk),
 * not of where it stands in the listing or of the objects' contents. It stays the same across
 * runs while its pieces do, so its history can be followed from night to night.
 *
 * A chunk's id leaves out how many chunks there are: rows appended to a CSV or JSON Lines file
 * add chunks at its end, and the chunks before them keep their ids (and, being cut every N
 * records from the start, their bounds). The first chunk hashes as the whole object does, so an
 * object that grows past one chunk keeps its id for its beginning.
 */
export function partitionIdOf(pieces: Piece[]): string {
  const h = createHash('sha256');
  for (const p of pieces) h.update(`${p.key}\u0000${p.chunk && p.chunk[0] > 0 ? p.chunk[0] : ''}\u0000`);
  return `p-${h.digest('hex').slice(0, 12)}`;
}

/** For people: "feeds/m-0042.avro", "feeds/m-0042.avro+17" (17 more objects), "big.csv#3/12". */
export function partitionNameOf(pieces: Piece[], prefix: string): string {
  const first = pieces[0];
  const rel = first.key.startsWith(prefix) && first.key.length > prefix.length ? first.key.slice(prefix.length) : first.key;
  if (first.chunk && pieces.length === 1) return `${rel}#${first.chunk[0] + 1}/${first.chunk[1]}`;
  return pieces.length > 1 ? `${rel}+${pieces.length - 1}` : rel;
}

/** A Kafka partition's id: topic, topic partition and offset range [start, end). */
export function kafkaPartitionId(topic: string, partition: number, start: number, end: number): string {
  return `p-${createHash('sha256').update(`kafka\u0000${topic}\u0000${partition}\u0000${start}-${end}`).digest('hex').slice(0, 12)}`;
}
