import type { S3Client } from '@aws-sdk/client-s3';
import { datasetPrefix } from '../../pipeline/layout';
import type { Plan } from '../../pipeline/plan';
import { RAW_STAGE } from '../../pipeline/types';
import { latestListedSnapshot, readSnapshot } from '../../snapshots/store';
import { getJsonIfPresent } from '../../storage/objects';
import { parseS3Url } from '../../storage/s3url';
import type { KafkaValueSettings } from './source';
import { parseRangeName, Span } from './ranges';

/**
 * What the dataset's latest snapshot holds of a topic, for planning the next run and for the
 * checks before it: read once (a listing, the snapshot, its plan) and handed to each.
 */
export interface Published {
  /** The snapshot's number. */
  snapshot: number;
  /** Topic partition → the raw ranges of the topic the snapshot holds. */
  ranges: Map<number, Span[]>;
  /**
   * Topic partition → where the runs behind the snapshot started it: its run's plan's start
   * (before any gap that plan skipped), or the first published range if that is earlier. Null
   * when neither says (no range of the topic, and no readable Kafka plan of it).
   */
  starts: Record<string, number> | null;
  /** The topic ID that plan read, and the plan's URL, for the topic-recreated check. */
  topicId?: string;
  plan: string;
  /** The value settings the plan's run decoded the topic with (src/sources/kafka/dataset-value.ts); absent when its plan is not a Kafka one, or gone. */
  value?: KafkaValueSettings;
}

/** Where a Kafka plan started each topic partition, before the gap it skipped there (allowGaps). */
export function planOrigins(k: NonNullable<Plan['kafka']>): Record<string, number> {
  const out: Record<string, number> = { ...k.starts };
  for (const g of k.gaps ?? []) {
    const p = String(g.partition);
    if (out[p] === undefined || g.from < out[p]) out[p] = g.from;
  }
  return out;
}

/** The earlier of the plan's starts and the published ranges' first offsets, per topic partition. */
export function earliestStarts(origins: Record<string, number> | null, ranges: Map<number, Span[]>): Record<string, number> | null {
  const out: Record<string, number> = { ...(origins ?? {}) };
  for (const [p, list] of ranges) {
    const first = Math.min(...list.map((r) => r.start));
    if (out[String(p)] === undefined || first < out[String(p)]) out[String(p)] = first;
  }
  return Object.keys(out).length ? out : null;
}

/** The raw ranges of `topic` in the dataset's latest snapshot and where its run started; null before the first snapshot. */
export async function readPublished(s3: S3Client, bucket: string, targetPrefix: string, dataset: string, topic: string): Promise<Published | null> {
  const d = { bucket, prefix: `${datasetPrefix(targetPrefix, dataset)}/` };
  const n = await latestListedSnapshot(s3, d);
  if (n === 0) return null;
  const snap = await readSnapshot(s3, d, n);
  const ranges = new Map<number, Span[]>();
  for (const p of snap.stages[RAW_STAGE] ?? []) {
    const r = parseRangeName(p.name);
    if (r && r.topic === topic) {
      const list = ranges.get(r.partition) ?? [];
      list.push({ start: r.start, end: r.end });
      ranges.set(r.partition, list);
    }
  }
  // A plan removed by hand or by a tool still leaves the published ranges to go by.
  const loc = snap.run.plan ? parseS3Url(snap.run.plan) : null;
  const plan = loc ? await getJsonIfPresent<Plan>(s3, loc.bucket, loc.key, 1024 * 1024 * 1024) : null;
  const k = plan?.kafka?.topic === topic ? plan.kafka : undefined;
  return {
    snapshot: n, ranges, starts: earliestStarts(k ? planOrigins(k) : null, ranges), ...(k?.topicId ? { topicId: k.topicId } : {}), plan: snap.run.plan,
    ...(plan?.kafka?.value ? { value: plan.kafka.value } : {}),
  };
}
