/**
 * Bounds that keep a hostile or corrupt file from exhausting memory or hanging a worker.
 * Defaults are in the spirit of Java Avro's `org.apache.avro.limits.*` system properties,
 * tightened where a single worker process must survive any input.
 */
export interface ReadLimits {
  /** Largest decompressed block. */
  maxBlockBytes: number;
  /** Most records one block may declare. */
  maxBlockRecords: number;
  /** Most items in one array or map. */
  maxCollectionItems: number;
  /**
   * Most array items that take no bytes (null, empty records, size-0 fixed) in one object, over
   * all its blocks: a few bytes can declare millions of them, so the data's size cannot bound them.
   */
  maxZeroByteItems: number;
  /** Largest header metadata (all keys and values). */
  maxHeaderBytes: number;
}

export const DEFAULT_READ_LIMITS: ReadLimits = {
  maxBlockBytes: envInt('PARTFLOW_MAX_BLOCK_BYTES', 64 * 1024 * 1024),
  maxBlockRecords: envInt('PARTFLOW_MAX_BLOCK_RECORDS', 10_000_000),
  maxCollectionItems: envInt('PARTFLOW_MAX_COLLECTION_ITEMS', 10_000_000),
  maxZeroByteItems: envInt('PARTFLOW_MAX_ZERO_BYTE_ITEMS', 10_000_000),
  maxHeaderBytes: envInt('PARTFLOW_MAX_HEADER_BYTES', 4 * 1024 * 1024),
};

function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}
