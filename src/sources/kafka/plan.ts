import type { S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { kafkaPartitionId } from '../../pipeline/partitioning/identity';
import type { PlannedPartition } from '../../pipeline/plan';
import { formatS3Url } from '../../storage/s3url';
import { openConsumer } from './client';
import { isKafkaUnreachable, kafkaCause } from './errors';
import { offsetsKey, readCommittedOffsets } from './offsets';
import { planOffsets, rangeName } from './ranges';
import type { Published } from './published';
import type { KafkaSource } from './source';
import { knownTopicId, startOf, StartedFrom, topicIdChanged, unknownStartPartitions } from './starts';
import { rawSchemaJson } from './values';

/** Code version of the Kafka import; bump when its output bytes change. */
export const KAFKA_IMPORT_VERSION = 'kafka-1';

/** What a plan keeps about its Kafka source, for the import and the offsets commit. */
export interface KafkaPlanInfo {
  brokers: string[];
  topic: string;
  /** The topic's ID at plan time (absent on brokers without topic IDs); the offsets commit records it. */
  topicId?: string;
  value: KafkaSource['value'];
  allowGaps: boolean;
  /** The offsets commit this plan started from (0: none yet), and the next one it will write. */
  baseSeq: number;
  /** Topic partition → the offset this run starts from, and the end (exclusive) it commits. */
  starts: Record<string, number>;
  ends: Record<string, number>;
  /** Topic partition → where its start came from: committed offsets, startOffsets (first run), an earlier partial run's plan, or a partition new since. */
  startedFrom?: Record<string, StartedFrom>;
  /** Offsets the broker no longer held at plan time (allowGaps). */
  gaps: { partition: number; from: number; to: number }[];
}

/**
 * A planning problem a person must fix (or allow): it fails the ingest without retries; or, for
 * KafkaUnreachable, one a retry may get past (a broker restarting).
 */
export class KafkaPlanError extends Error {
  constructor(readonly type: 'OffsetsGone' | 'InvalidInput' | 'TopicRecreated' | 'KafkaUnreachable', message: string, readonly cause?: unknown) {
    super(message);
    this.name = 'KafkaPlanError';
  }

  get retryable(): boolean {
    return this.type === 'KafkaUnreachable';
  }
}

/** A client failure while planning, naming the brokers, the topic and the root cause. */
function brokerFailure(src: KafkaSource, what: string, err: unknown): KafkaPlanError {
  if (err instanceof KafkaPlanError) return err;
  const at = `${what} of topic ${src.topic} from ${src.brokers.join(',')}`;
  if (isKafkaUnreachable(err)) return new KafkaPlanError('KafkaUnreachable', `cannot reach the Kafka broker(s) for the ${at}: ${kafkaCause(err)}`, err);
  return new KafkaPlanError('InvalidInput', `the ${at} failed: ${kafkaCause(err)}`, err);
}

function hash(x: unknown): string {
  return createHash('sha256').update(JSON.stringify(x)).digest('hex').slice(0, 16);
}

/**
 * Plans a Kafka ingest: per topic partition, from the dataset's committed end offset (or
 * startOffsets on the first run, where an earlier partial run started, or the earliest for a
 * partition new since: starts.ts) to the last stable offset now (the high watermark that
 * read_committed may read up to). Ranges the dataset's snapshot already holds are kept; the
 * offsets they do not hold are cut into aligned ranges of at most partitionRecords offsets (planOffsets).
 */
export async function planKafka(
  s3: S3Client, src: KafkaSource, o: { bucket: string; targetPrefix: string; dataset: string; partitionRecords: number; source: string },
  published: Published | null,
): Promise<{ partitions: PlannedPartition[]; info: KafkaPlanInfo; rawSchema: string }> {
  const rawSchema = rawSchemaJson(src.value);
  const committed = await readCommittedOffsets(s3, o.bucket, o.targetPrefix, o.dataset, src.topic);
  // Without committed offsets, ranges published by a partial run mean the first run has begun.
  const earlier = committed ? null : published?.starts ?? null;
  // Planning is retried as a whole (workflows/ingest.ts planRetry), so the client retries little:
  // a port that accepts but never answers fails each attempt in ~30 s, not minutes.
  const consumer = openConsumer(src.brokers, undefined, { requestTimeout: 15_000, retries: 1 });
  try {
    const meta = await consumer.metadata({ topics: [src.topic] }).catch((err) => { throw brokerFailure(src, 'metadata', err); });
    const t = meta.topics.get(src.topic);
    const count = t?.partitionsCount ?? 0;
    const topicId = knownTopicId(t?.id);
    if (committed) {
      const changed = topicIdChanged({
        topic: src.topic, dataset: o.dataset, committedId: committed.topicId, currentId: topicId,
        offsetsKey: formatS3Url({ bucket: o.bucket, key: offsetsKey(o.targetPrefix, o.dataset, src.topic, committed.seq) }),
      });
      if (changed) throw new KafkaPlanError('TopicRecreated', changed);
    } else if (earlier) {
      const changed = topicIdChanged({ topic: src.topic, dataset: o.dataset, committedId: published?.topicId, currentId: topicId, offsetsKey: published!.plan, byPlan: true });
      if (changed) throw new KafkaPlanError('TopicRecreated', changed);
    } else {
      const unknown = unknownStartPartitions(src.topic, count, src.startOffsets);
      if (unknown) throw new KafkaPlanError('InvalidInput', unknown);
    }
    const offsets = (timestamp: bigint, isolationLevel?: number) => consumer.listOffsets({ topics: [src.topic], timestamp, ...(isolationLevel !== undefined ? { isolationLevel } : {}) })
      .then((r) => r.get(src.topic)!, (err) => { throw brokerFailure(src, 'offsets', err); });
    const earliest = await offsets(-2n);
    const stable = await offsets(-1n, 1);
    const starts: Record<string, number> = {};
    const ends: Record<string, number> = {};
    const startedFrom: Record<string, StartedFrom> = {};
    const gaps: KafkaPlanInfo['gaps'] = [];
    const partitions: PlannedPartition[] = [];
    const gone: string[] = [];
    for (let p = 0; p < count; p++) {
      const low = Number(earliest[p]);
      const high = Number(stable[p]);
      const { start, from } = startOf(p, low, high, committed?.offsets ?? null, src.startOffsets, earlier);
      const planned = planOffsets(p, { start, low, high, size: o.partitionRecords, published: published?.ranges.get(p) ?? [] });
      if (start > planned.end) {
        throw new KafkaPlanError('InvalidInput', from === 'committed' || from === 'earlier run'
          ? `topic ${src.topic} partition ${p}: the start offset ${start} (${from === 'committed' ? 'committed by an earlier run' : 'where an earlier, partial run started'}) is past the partition's end ${high}; was the topic deleted and created again?`
          : `topic ${src.topic} partition ${p}: startOffsets starts at ${start}, past the partition's end ${high} (its offsets now run ${low}-${high})`);
      }
      if (planned.gone.length && !src.allowGaps) {
        const held = planned.ranges.some((r) => r.published) ? ' that the dataset does not hold' : '';
        gone.push(`topic ${src.topic} partition ${p}: offsets ${planned.gone.map((g) => `${g.start}-${g.end - 1}`).join(', ')}${held} are no longer on the broker (its log now starts at ${low}, past retention)`);
        continue;
      }
      for (const g of planned.gone) gaps.push({ partition: p, from: g.start, to: g.end });
      // The first offset this run reads or reuses: past a gap at its start.
      starts[String(p)] = planned.gone[0]?.start === start ? planned.gone[0].end : start;
      ends[String(p)] = planned.end;
      startedFrom[String(p)] = from;
      for (const r of planned.ranges) {
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
    const info: KafkaPlanInfo = {
      brokers: src.brokers, topic: src.topic, ...(topicId ? { topicId } : {}), value: src.value, allowGaps: src.allowGaps, baseSeq: committed?.seq ?? 0, starts, ends, startedFrom, gaps,
    };
    return { partitions, info, rawSchema };
  } finally {
    await consumer.close().catch(() => undefined);
  }
}
