import type { S3Client } from '@aws-sdk/client-s3';
import { getJsonIfPresent, ObjectNotFoundError } from '../storage/objects';
import { parseS3Url } from '../storage/s3url';
import type { Plan } from './plan';

const PLAN_MAX_BYTES = 1024 * 1024 * 1024;
// One: plans can be large and a worker lives for months; the two looks of one Kafka planning come back to back.
const KEPT = 1;
const plans = new Map<string, Promise<Plan | null>>();

/**
 * A plan by its s3:// URL, or null when it is gone, read once per process (plans are immutable;
 * Kafka planning reads the latest snapshot's plan for two checks), the last one kept.
 */
export function readPlanIfPresent(s3: S3Client, url: string): Promise<Plan | null> {
  let p = plans.get(url);
  if (!p) {
    const loc = parseS3Url(url);
    p = getJsonIfPresent<Plan>(s3, loc.bucket, loc.key, PLAN_MAX_BYTES);
    // Neither a failed read nor a missing plan is kept: the next look asks S3 again.
    p.then((x) => { if (x === null) plans.delete(url); }, () => plans.delete(url));
    plans.set(url, p);
    if (plans.size > KEPT) plans.delete(plans.keys().next().value!);
  }
  return p;
}

/** A plan by its s3:// URL; one that is gone is an ObjectNotFoundError. */
export async function readPlan(s3: S3Client, url: string): Promise<Plan> {
  const plan = await readPlanIfPresent(s3, url);
  if (plan) return plan;
  const loc = parseS3Url(url);
  throw new ObjectNotFoundError(loc.bucket, loc.key);
}
