import { S3Client } from '@aws-sdk/client-s3';
import type { RunManifest } from '../manifest/run';
import type { Plan } from '../pipeline/plan';
import { getJson, ObjectNotFoundError } from '../storage/objects';
import { parseS3Url } from '../storage/s3url';
import { keepCandidates, Kept, keptForFailed, RunEffect, SourcesOf, Stages } from './changes';
import type { SnapshotHead } from './types';

/**
 * Plans read to find where the parent's candidates to keep got their records, besides the run's
 * own: the parent's, those named by entries kept before, and older snapshots' for the rest. A
 * plan of a big dataset runs to tens of MiB, so the walk back stops here; a partition still not
 * found is removed, as it was before it could be kept.
 */
export const KEEP_PLAN_READS = 4;

const objectOf = (plan: Plan, key: string) => `${plan.sourceBucket}\u0000${key}`;

/** Each partition's source objects, for the ids in `want` (all when absent). */
function objectsOf(plan: Plan, want?: Set<string>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const p of plan.partitions ?? []) {
    if (!want || want.has(p.id)) out.set(p.id, [...new Set(p.pieces.map((pc) => objectOf(plan, pc.key)))]);
  }
  return out;
}

async function readPlan(s3: S3Client, url: string): Promise<Plan | null> {
  const loc = parseS3Url(url);
  // A plan gc deleted (its snapshots went) leaves its partitions unknown, not the commit failed.
  return getJson<Plan>(s3, loc.bucket, loc.key, 1024 * 1024 * 1024).catch((err: unknown) => {
    if (err instanceof ObjectNotFoundError) return null;
    throw err;
  });
}

/**
 * The removals of `parent` (snapshot `parentN`) that the run keeps instead (see keptForFailed).
 * Costs nothing unless the run failed a partition the parent lacks while it removes some: then
 * the run's plan is read, and the plans that list the removed partitions' pieces.
 */
export async function keptRemovals(
  s3: S3Client, m: RunManifest, effect: RunEffect, parent: Stages, removals: Set<string>,
  older: { numbers: number[]; parentN: number; head: (n: number) => Promise<SnapshotHead | null> },
): Promise<Map<string, Kept>> {
  const candidates = keepCandidates(parent, effect, removals);
  if (candidates.length === 0) return new Map();
  const mine = await readPlan(s3, m.plan);
  if (!mine) return new Map();
  const planned = objectsOf(mine);

  const sources = new Map<string, SourcesOf>();
  const unknown = new Set(candidates.map((p) => p.partition));
  const read = new Set<string>([m.plan]);
  const lookIn = async (url: string) => {
    if (read.has(url) || read.size > KEEP_PLAN_READS) return;
    read.add(url);
    const plan = await readPlan(s3, url);
    if (!plan) return;
    for (const [id, keys] of objectsOf(plan, unknown)) {
      sources.set(id, { keys, plan: url });
      unknown.delete(id);
    }
  };
  // Entries kept before name their plan; the others were most likely planned by the parent's run, or an earlier one.
  for (const url of new Set(candidates.map((p) => p.plannedIn).filter((u): u is string => !!u))) await lookIn(url);
  for (const n of [...older.numbers].filter((k) => k <= older.parentN).reverse().slice(0, 2 * KEEP_PLAN_READS)) {
    if (unknown.size === 0 || read.size > KEEP_PLAN_READS) break;
    // An older head gc deleted meanwhile ends the walk: what is not found is removed.
    const head = await older.head(n);
    if (!head) break;
    await lookIn(head.run.plan);
  }
  return keptForFailed(parent, effect, removals, planned, sources);
}
