import pLimit from 'p-limit';
import { PartitionManifest } from '../src/manifest/partition';
import { partitionKeys } from '../src/pipeline/layout';
import { Plan } from '../src/pipeline/plan';
import { RAW_STAGE } from '../src/pipeline/types';
import { KafkaGap, mergeGaps } from '../src/sources/kafka/gaps';
import { getJson, ObjectNotFoundError } from '../src/storage/objects';
import { ActivityDeps } from './deps';

/**
 * Every gap of a Kafka plan's run, merged: the plan's own, and (allowGaps only: without it a gap
 * found while reading fails the partition) those its imports found while reading, which only
 * their partition manifests hold. Partitions not committed are left out.
 */
export async function kafkaRunGaps(deps: ActivityDeps, plan: Plan, beat?: (read: number) => void): Promise<KafkaGap[]> {
  const k = plan.kafka!;
  const gaps: KafkaGap[] = [...k.gaps];
  if (!k.allowGaps) return mergeGaps(gaps);
  const limit = pLimit(16);
  let read = 0;
  await Promise.all(plan.partitions.map((p) => limit(async () => {
    const piece = p.pieces[0];
    const partition = Number(piece.key.slice(piece.key.lastIndexOf('/') + 1));
    let m: PartitionManifest;
    try {
      m = await getJson<PartitionManifest>(deps.s3, plan.bucket, partitionKeys(plan.targetPrefix, plan.dataset, RAW_STAGE, p.id, p.rawVersion).manifest);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return;
      throw err;
    }
    for (const [from, to] of m.inputs[0]?.gaps ?? []) gaps.push({ partition, from, to });
    if (++read % 500 === 0) beat?.(read);
  })));
  return mergeGaps(gaps);
}
