import type { Plan } from '../pipeline/plan';
import { parseS3Url } from '../storage/s3url';

/**
 * The partitions of a plan that a person means by `query`: a partition id, a partition name, or
 * a source object's key (full, relative to the source prefix, or its s3:// URL) that a partition reads.
 */
export function matchPartitions(plan: Plan, query: string): { id: string; name: string }[] {
  let key = query;
  if (query.startsWith('s3://')) {
    const loc = parseS3Url(query);
    if (loc.bucket !== plan.sourceBucket) return [];
    key = loc.key;
  }
  return plan.partitions
    .filter((p) => p.id === query || p.name === query || p.pieces.some((pc) => pc.key === key || pc.key === `${plan.sourcePrefix}${key}`))
    .map((p) => ({ id: p.id, name: p.name }));
}
