import type { S3Client } from '@aws-sdk/client-s3';
import { datasetPrefix } from '../../pipeline/layout';
import { getJson, listObjects, putIfAbsent, PreconditionFailedError } from '../../storage/objects';

/**
 * The offsets a dataset has ingested from a topic, kept in S3 beside the dataset, never in a
 * consumer group. An append-only log of create-only objects,
 *
 *   <target>/<dataset>/_sources/kafka/<topic>/<seq>.json     seq = 000000000001, 000000000002, …
 *
 * each holding every topic partition's end offset (exclusive) after one completed run. The
 * newest one is the state; a run writes seq+1 of the one it planned from, so two runs that
 * planned from the same state cannot both advance it.
 */
export interface OffsetsCommit {
  kind: 'partflow.kafka-offsets';
  version: 1;
  seq: number;
  topic: string;
  /**
   * The topic's ID when these offsets were read (absent in commits from before it was recorded,
   * and from brokers without topic IDs): a topic deleted and created again has a new one.
   */
  topicId?: string;
  /** Topic partition → next offset to ingest. */
  offsets: Record<string, number>;
  /** Offsets the broker no longer held when they were due (allowGaps), by topic partition: [from, to). */
  gaps: { partition: number; from: number; to: number }[];
  plan: string;
  run: { workflowId: string; runId: string };
  committedAt: string;
}

export function offsetsPrefix(targetPrefix: string, dataset: string, topic: string): string {
  return `${datasetPrefix(targetPrefix, dataset)}/_sources/kafka/${topic}/`;
}

export function offsetsKey(targetPrefix: string, dataset: string, topic: string, seq: number): string {
  return `${offsetsPrefix(targetPrefix, dataset, topic)}${String(seq).padStart(12, '0')}.json`;
}

/** The newest committed offsets, or null before the first completed run. */
export async function readCommittedOffsets(s3: S3Client, bucket: string, targetPrefix: string, dataset: string, topic: string): Promise<OffsetsCommit | null> {
  const listed = await listObjects(s3, bucket, offsetsPrefix(targetPrefix, dataset, topic));
  const keys = listed.map((o) => o.key).filter((k) => /\/\d{12}\.json$/.test(k)).sort();
  if (keys.length === 0) return null;
  return getJson<OffsetsCommit>(s3, bucket, keys[keys.length - 1]);
}

export class OffsetsConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OffsetsConflictError';
  }
}

/**
 * Writes the next offsets, create-only. A retry of the same commit (same plan) finds its own
 * object and succeeds; another run's object at that seq is a conflict.
 */
export async function writeOffsets(s3: S3Client, bucket: string, targetPrefix: string, dataset: string, commit: OffsetsCommit): Promise<string> {
  const key = offsetsKey(targetPrefix, dataset, commit.topic, commit.seq);
  try {
    await putIfAbsent(s3, bucket, key, JSON.stringify(commit, null, 2), 'application/json');
  } catch (err) {
    if (!(err instanceof PreconditionFailedError)) throw err;
    const there = await getJson<OffsetsCommit>(s3, bucket, key);
    if (there.plan !== commit.plan || JSON.stringify(there.offsets) !== JSON.stringify(commit.offsets)) {
      throw new OffsetsConflictError(`offsets of topic ${commit.topic} for dataset ${dataset} were advanced by another run (${there.run.workflowId}, plan ${there.plan}) since this run planned; its partitions are committed, and the next ingest carries on from the newer offsets`);
    }
  }
  return key;
}
