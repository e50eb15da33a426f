import type { WriterCheckpoint } from '../src/io/avro-object-writer';
import type { PartitionManifest, RecordCounts } from '../src/manifest/partition';
import type { PartitionKeys } from '../src/pipeline/layout';
import type { SpillRef } from './rejects-spill';

export interface PartitionTarget {
  stage: string;
  codeVersion: string;
  /** The partition's content version at this stage (see src/pipeline/versions.ts). */
  contentVersion: string;
  keys: PartitionKeys;
  schemaRef: string;
  schemaFingerprint: string;
  codec: string;
}

export type ManifestInput = PartitionManifest['inputs'][number];

/** Where to pick up reading: input `input`, the block at byte `blockOffset`, after its first `skip` records. */
export interface InputPosition {
  input: number;
  blockOffset: number;
  skip: number;
  /** Index (in its input object) of that block's first record. */
  blockFirstIndex: number;
  /** Kafka import: the zero-byte array items the output holds so far (its budget is per object). */
  zeroByteItems?: number;
}

/**
 * Sent with every heartbeat; a later attempt of the same activity resumes from it. It holds
 * positions, counts and upload state only: no record data goes into Temporal, so the rejects'
 * buffered bytes (which are records) are kept in S3 and only referred to.
 */
export interface PartitionCheckpoint {
  v: 2;
  identity: string;
  counts: RecordCounts;
  position: InputPosition;
  output: WriterCheckpoint;
  rejects: { writer: WriterCheckpoint; spill: SpillRef | null } | null;
  /** What the reader of the source keeps beside its position (Kafka: gaps and offset counts); JSON, small. */
  source?: unknown;
  at: string;
}
