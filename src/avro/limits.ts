import { envInteger } from '../config/errors';

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

/**
 * The limits from PARTFLOW_MAX_BLOCK_BYTES, PARTFLOW_MAX_BLOCK_RECORDS, PARTFLOW_MAX_COLLECTION_ITEMS,
 * PARTFLOW_MAX_ZERO_BYTE_ITEMS and PARTFLOW_MAX_HEADER_BYTES, or their defaults. A bad value is a
 * ConfigError naming the variable.
 */
export function readLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): ReadLimits {
  const int = (name: string, fallback: number) => envInteger(env, name, { min: 1, max: Number.MAX_SAFE_INTEGER, fallback, what: 'a positive integer' });
  return {
    maxBlockBytes: int('PARTFLOW_MAX_BLOCK_BYTES', 64 * 1024 * 1024),
    maxBlockRecords: int('PARTFLOW_MAX_BLOCK_RECORDS', 10_000_000),
    maxCollectionItems: int('PARTFLOW_MAX_COLLECTION_ITEMS', 10_000_000),
    maxZeroByteItems: int('PARTFLOW_MAX_ZERO_BYTE_ITEMS', 10_000_000),
    maxHeaderBytes: int('PARTFLOW_MAX_HEADER_BYTES', 4 * 1024 * 1024),
  };
}

let fromEnv: ReadLimits | undefined;

/**
 * The process's limits, read from the environment on first use rather than when this module
 * loads: a bad value then fails the command or worker that reads Avro, with its message, instead
 * of every command (`--help` too) with a stack trace as the CLI loads.
 */
export const DEFAULT_READ_LIMITS: Readonly<ReadLimits> = Object.defineProperties({} as ReadLimits, Object.fromEntries(
  (['maxBlockBytes', 'maxBlockRecords', 'maxCollectionItems', 'maxZeroByteItems', 'maxHeaderBytes'] as const).map((k) => [k, {
    enumerable: true,
    get: () => (fromEnv ??= readLimitsFromEnv())[k],
  }]),
));
