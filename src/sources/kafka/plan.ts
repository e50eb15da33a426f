import type { S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { kafkaPartitionId } from '../../pipeline/partitioning/identity';
import type { PlannedPartition } from '../../pipeline/plan';
import { openConsumer } from './client';
import { readCommittedOffsets } from './offsets';
import { cutRange, rangeName } from './ranges';
import type { KafkaSource } from './source';
import { rawSchemaJson } from './values';

/** Code version of the Kafka import; bump when its output bytes change. */
export const KAFKA_IMPORT_VERSION = 'kafka-1';

/** What a plan keeps about its Kafka source, for the import and the offsets commit. */
export interface KafkaPlanInfo {
  brokers: string[];
  topic: string;
  value: KafkaSource['value'];
  allowGaps: boolean;
  /** The offsets commit this plan started from (0: none yet), and the next one it will write. */
  baseSeq: number;
  /** Topic partition → the offset this run starts from, and the end (exclusive) it commits. */
  starts: Record<string, number>;
  ends: Record<string, number>;
  /** Offsets the broker no longer held at plan time (allowGaps). */
  gaps: { partition: number; from: number; to: number }[];
}

/** A planning problem a person must fix (or allow): it fails the ingest without retries. */
export class KafkaPlanError extends Error {
  constructor(readonly type: 'OffsetsGone' | 'InvalidInput', message: string) {
    super(message);
    this.name = 'KafkaPlanError';
  }
}

function hash(x: unknown): string {
  return createHash('sha256').update(JSON.stringify(x)).digest('hex').slice(0, 16);
}

/**
 * Plans a Kafka ingest: per topic partition, from the dataset's committed end offset (or
 * startOffsets on the first run) to the last stable offset now (the high watermark that
 * read_committed may read up to), cut into aligned ranges of at most partitionRecords offsets.
 */
export async function planKafka(
  s3: S3Client, src: KafkaSource, o: { bucket: string; targetPrefix: string; dataset: string; partitionRecords: number; source: string },
): Promise<{ partitions: PlannedPartition[]; info: KafkaPlanInfo; rawSchema: string }> {
  const rawSchema = rawSchemaJson(src.value);
  const committed = await readCommittedOffsets(s3, o.bucket, o.targetPrefix, o.dataset, src.topic);
  const consumer = openConsumer(src.brokers);
  try {
    const meta = await consumer.metadata({ topics: [src.topic] }).catch((err) => {
      throw new KafkaPlanError('InvalidInput', `cannot read topic ${src.topic} from ${src.brokers.join(',')}: ${(err as Error).message}`);
    });
    const count = meta.topics.get(src.topic)?.partitionsCount ?? 0;
    const earliest = (await consumer.listOffsets({ topics: [src.topic], timestamp: -2n })).get(src.topic)!;
    const stable = (await consumer.listOffsets({ topics: [src.topic], timestamp: -1n, isolationLevel: 1 })).get(src.topic)!;
    const starts: Record<string, number> = {};
    const ends: Record<string, number> = {};
    const gaps: KafkaPlanInfo['gaps'] = [];
    const partitions: PlannedPartition[] = [];
    const gone: string[] = [];
    for (let p = 0; p < count; p++) {
      const low = Number(earliest[p]);
      const high = Number(stable[p]);
      let start: number;
      const prev = committed?.offsets[String(p)];
      if (prev !== undefined) start = prev;
      else if (src.startOffsets === 'earliest') start = low;
      else if (src.startOffsets === 'latest') start = high;
      else start = src.startOffsets[String(p)] ?? low;
      if (start > high) {
        throw new KafkaPlanError('InvalidInput', `topic ${src.topic} partition ${p}: the start offset ${start}${prev !== undefined ? ' (committed by an earlier run)' : ''} is past the partition's end ${high}; was the topic deleted and created again?`);
      }
      if (start < low) {
        if (!src.allowGaps) {
          gone.push(`topic ${src.topic} partition ${p}: offsets ${start}-${low - 1} are no longer on the broker (its log now starts at ${low}, past retention)`);
          continue;
        }
        gaps.push({ partition: p, from: start, to: low });
        start = low;
      }
      starts[String(p)] = start;
      ends[String(p)] = high;
      for (const r of cutRange(p, start, high, o.partitionRecords)) {
        const pieces = [{ key: `${src.topic}/${p}`, etag: '', size: r.end - r.start, range: [r.start, r.end] as [number, number], records: r.end - r.start }];
        partitions.push({
          id: kafkaPartitionId(src.topic, p, r.start, r.end), name: rangeName(src.topic, r), pieces, schema: 0,
          rawVersion: `${KAFKA_IMPORT_VERSION}-${hash({ topic: src.topic, partition: p, range: [r.start, r.end], value: src.value, schema: rawSchema })}`,
        });
      }
    }
    if (gone.length) {
      throw new KafkaPlanError('OffsetsGone', `${gone.join('; ')}. Records there were never ingested. Set "allowGaps": true to skip them; the gap is then recorded in the plan, the partition manifest and the committed offsets`);
    }
    const info: KafkaPlanInfo = { brokers: src.brokers, topic: src.topic, value: src.value, allowGaps: src.allowGaps, baseSeq: committed?.seq ?? 0, starts, ends, gaps };
    return { partitions, info, rawSchema };
  } finally {
    await consumer.close().catch(() => undefined);
  }
}
