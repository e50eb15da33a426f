import { S3Client } from '@aws-sdk/client-s3';
import type { Plan } from '../pipeline/plan';
import { getJson } from '../storage/objects';
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

const plans = new Map<string, Promise<Plan>>();

/** A plan by its s3:// URL, read once per process (plans are immutable); a failed read is tried again next time. */
export function readPlan(s3: S3Client, url: string): Promise<Plan> {
  let p = plans.get(url);
  if (!p) {
    const loc = parseS3Url(url);
    p = getJson<Plan>(s3, loc.bucket, loc.key, 1024 * 1024 * 1024);
    p.catch(() => plans.delete(url));
    plans.set(url, p);
  }
  return p;
}

/**
 * A partition as the workflow names it, with the plan's id and name when that is a plan index
 * ("#1234"): a run too large for its workflow to hold every id names the rest that way.
 */
export function fromPlanIndex(plan: Plan, partition: string): { partition: string; name?: string } {
  const m = /^#(\d+)$/.exec(partition);
  const p = m ? plan.partitions[Number(m[1])] : undefined;
  return p ? { partition: p.id, name: p.name } : { partition };
}

export const isPlanIndex = (partition: unknown): boolean => /^#\d+$/.test(String(partition));
