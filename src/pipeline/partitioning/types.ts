import type { BlockWalk } from '../../avro/block-walk';
import type { CsvDelimiter } from '../../formats/csv-delimiter';
/** One object of the source listing. */
export interface ListedObject {
  key: string;
  size: number;
  etag: string;
}

/**
 * A contiguous piece of one source object. A partition reads its pieces in order as one input.
 * `range` is bytes [start, end) (Avro splits, csv/jsonl chunks; end -1 = to the end of the
 * object) or, for JSON arrays, elements [start, end). Absent: the whole object.
 */
export interface Piece {
  key: string;
  etag: string;
  size: number;
  range?: [number, number];
  /** Chunk i (0-based) of n, when the object was cut into several partitions. */
  chunk?: [number, number];
  /** Records a flat-file scan counted in the piece. */
  records?: number;
  /**
   * A chunk of a cut CSV or JSON Lines file: SHA-256 of its bytes, from the scan. Its raw
   * version then follows these bytes rather than the object's ETag (see importVersion).
   */
  sha256?: string;
  /** CSV: bytes of the object's header row, which every piece's parse starts from. */
  headerEnd?: number;
  /** CSV: the delimiter the scan chose from the header and first rows, when the header alone gives another. */
  delimiter?: CsvDelimiter;
  /**
   * A split Avro object's piece: the bytes [start, end) of the blocks that start in `range`, as
   * planning's walk of the object's blocks found them (end: where the next piece's first block
   * starts). Readers start and stop exactly there. Not part of the partition's id, which `range`
   * and `chunk` make as before. Absent in plans made before the walk.
   */
  blocks?: [number, number];
  /**
   * Set when the sync-marker search that readers did before the walk starts this piece elsewhere
   * (a copy of the marker inside a value): `blocks` then counts in its content version, so
   * outputs read that way are computed again rather than reused.
   */
  resynced?: true;
}

/** A partition: a stable id from its pieces, a readable name, and the pieces in read order. */
export interface SourcePartition {
  id: string;
  name: string;
  pieces: Piece[];
  /** Flat files: the raw schema every piece shares (an index into the plan's raw schemas). */
  schema?: number;
}

/** One chunk of a scanned flat file (see src/formats/flat.ts). */
export interface ScannedChunk {
  start: number;
  end: number;
  records: number;
  sha256?: string;
}

export interface PartitioningOptions {
  format: 'avro' | 'csv' | 'jsonl' | 'json';
  /** Largest packed partition of small objects; bigger objects stand alone. */
  partitionBytes: number;
  /** Avro objects bigger than this are split into byte ranges of at most this size (default: partitionBytes). */
  splitBytes?: number;
  /** false: one partition per small object (no packing). */
  pack?: boolean;
  /** The source prefix: names are keys relative to it. */
  prefix: string;
  /**
   * Avro: the block walk of every object split into pieces (see splitOf), by key. Given, every
   * split object must have one; absent, pieces carry only their nominal ranges.
   */
  walks?: Map<string, BlockWalk>;
  /** Flat files: every object's scan (its raw schema index and its record-boundary chunks). */
  scans?: Map<string, { schema: number; chunks: ScannedChunk[]; headerEnd?: number; delimiter?: CsvDelimiter }>;
}
