import type { CsvDelimiter } from '../../formats/csv-delimiter';
/**
 * Planning's contract: a source listing (key, size, ETag) plus options in, partitions out, each an
 * ordered list of pieces with a stable id. Pure: the same listing always gives the same partitions.
 *
 * - Objects larger than `partitionBytes` stand alone; Avro objects larger than `splitBytes` are
 *   split into byte ranges, each read from the first block that starts in it as planning's walk
 *   of the object's blocks found it; flat files are cut at record boundaries by their scan
 *   (`partitionRecords` per chunk).
 * - Smaller objects are packed (see pack.ts for the boundary rule).
 */
import { partitionIdOf, partitionNameOf } from './identity';
import { packObjects, splitRanges } from './pack';
import type { ListedObject, PartitioningOptions, Piece, ScannedChunk, SourcePartition } from './types';

export * from './types';
export { partitionIdOf, partitionNameOf } from './identity';
export { packObjects, splitRanges } from './pack';

export function partitionListing(listing: ListedObject[], opts: PartitioningOptions): SourcePartition[] {
  if (!(opts.partitionBytes > 0)) throw new Error(`partitionBytes must be positive, got ${opts.partitionBytes}`);
  const objects = [...listing].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const flat = opts.format !== 'avro';
  const scanOf = (o: ListedObject) => {
    const s = opts.scans?.get(o.key);
    if (!s) throw new Error(`no scan for flat source object ${o.key}`);
    return s;
  };
  const out: SourcePartition[] = [];
  const make = (pieces: Piece[], schema?: number) => {
    out.push({ id: partitionIdOf(pieces), name: partitionNameOf(pieces, opts.prefix), pieces, ...(schema === undefined ? {} : { schema }) });
  };
  let small: ListedObject[] = [];
  const flush = () => {
    const packs = opts.pack === false ? small.map((o) => [o]) : packObjects(small, opts.partitionBytes, flat ? (a, b) => scanOf(a).schema !== scanOf(b).schema : undefined);
    for (const p of packs) {
      make(p.map((o) => (flat ? chunkPiece(o, scanOf(o)) : whole(o))), flat ? scanOf(p[0]).schema : undefined);
    }
    small = [];
  };
  for (const o of objects) {
    if (flat) {
      const scan = scanOf(o);
      if (scan.chunks.length <= 1 && o.size <= opts.partitionBytes) {
        small.push(o);
        continue;
      }
      flush();
      const n = scan.chunks.length;
      if (n <= 1) make([chunkPiece(o, scan)], scan.schema);
      else scan.chunks.forEach((c, i) => make([{ ...chunkPiece(o, scan, c), chunk: [i, n], ...(c.sha256 ? { sha256: c.sha256 } : {}) }], scan.schema));
      continue;
    }
    const ranges = splitOf(o, opts);
    if (!ranges && o.size <= opts.partitionBytes) {
      small.push(o);
      continue;
    }
    flush();
    if (!ranges) {
      make([whole(o)]);
      continue;
    }
    const walk = opts.walks?.get(o.key);
    if (opts.walks && walk?.blocks.length !== ranges.length) throw new Error(`no block walk of ${ranges.length} pieces for split Avro object ${o.key}`);
    ranges.forEach((r, i) => make([{
      ...whole(o), range: r, chunk: [i, ranges.length],
      ...(walk ? { blocks: walk.blocks[i], ...(walk.resynced[i] ? { resynced: true as const } : {}) } : {}),
    }]));
  }
  flush();
  return out;
}

/**
 * The nominal byte ranges of an Avro object's pieces, or null when it is read whole: an object
 * over splitBytes is split, even when it is under partitionBytes (a splitBytes set lower).
 */
export function splitOf(o: ListedObject, opts: Pick<PartitioningOptions, 'format' | 'partitionBytes' | 'splitBytes'>): [number, number][] | null {
  if (opts.format !== 'avro') return null;
  const split = opts.splitBytes ?? opts.partitionBytes;
  return o.size > split ? splitRanges(o.size, split) : null;
}

function chunkPiece(o: ListedObject, scan: { chunks: ScannedChunk[]; headerEnd?: number; delimiter?: CsvDelimiter }, c: ScannedChunk | undefined = scan.chunks[0]): Piece {
  // Planning leaves out scans with no chunks (files with no records); a header-only CSV has one chunk of 0 records.
  const p: Piece = { ...whole(o), range: [c?.start ?? 0, c?.end ?? -1], records: c?.records ?? 0 };
  if (scan.headerEnd !== undefined) p.headerEnd = scan.headerEnd;
  if (scan.delimiter) p.delimiter = scan.delimiter;
  return p;
}

function whole(o: ListedObject): Piece {
  return { key: o.key, etag: o.etag, size: o.size };
}
