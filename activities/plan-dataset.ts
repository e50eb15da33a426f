import { createHash } from 'node:crypto';
import { ResolvedIngest } from '../src/pipeline/input';
import { datasetUrl, markerKey, planKey, stagePrefix } from '../src/pipeline/layout';
import { datasetMarker, datasetOwnership, judgeSource } from '../src/pipeline/dataset-source';
import { enclosingDataset, nestedDatasetRefusal } from '../src/pipeline/nested-dataset';
import { Plan, PlannedPartition, PlanSummary } from '../src/pipeline/plan';
import { headObject, ObjectNotFoundError, prefixIsEmpty, putIfAbsent, PreconditionFailedError } from '../src/storage/objects';
import { formatS3Url, parseS3Url } from '../src/storage/s3url';
import { logger } from '../src/log';
import { ActivityDeps, nonRetryable } from './deps';

/** What planning does for every kind of source: the dataset's owner, its lookups, the plan's writing and the summary's ids. */

function sha(x: unknown, n = 12): string {
  return createHash('sha256').update(JSON.stringify(x)).digest('hex').slice(0, n);
}

// Names travel to the workflow for activity summaries only while they stay a small payload.
const MAX_NAMES_BYTES = 256 * 1024;

/** The summary's ids and names; large plans go by reference (activities read them from the plan by index). */
export function idsAndNames(partitions: readonly PlannedPartition[], maxIds: number | undefined): Pick<PlanSummary, 'ids' | 'names'> {
  const byIndex = maxIds !== undefined && partitions.length > maxIds;
  const names = partitions.map((p) => p.name);
  return { ids: byIndex ? [] : partitions.map((p) => p.id), names: !byIndex && names.reduce((n, s) => n + s.length + 3, 0) <= MAX_NAMES_BYTES ? names : null };
}

export type Entry = NonNullable<ReturnType<ActivityDeps['registry']['get']>>;

/** The pipeline's lookup tables, at their default place in `bucket` or where params put them. */
export async function resolveLookups(deps: ActivityDeps, def: Entry['def'], input: ResolvedIngest, bucket: string): Promise<Plan['lookups']> {
  const lookups: Plan['lookups'] = {};
  for (const [name, l] of Object.entries(def.lookups ?? {})) {
    const override = input.params[`lookup.${name}`];
    const loc = override ? parseS3Url(override) : { bucket, key: l.defaultKey };
    try {
      const head = await headObject(deps.s3, loc.bucket, loc.key);
      lookups[name] = { bucket: loc.bucket, key: loc.key, etag: head.etag, format: l.format };
    } catch (err) {
      if (err instanceof ObjectNotFoundError) {
        throw nonRetryable('InputMissing', `lookup "${name}" of pipeline "${def.name}" not found at ${formatS3Url(loc)} (set params["lookup.${name}"] to its s3:// URL)`);
      }
      throw err;
    }
  }
  return lookups;
}

/** A misspelt lookup.<name> would leave the table at its default place with no word said. */
export function checkLookupParams(def: Entry['def'], input: ResolvedIngest): void {
  const known = Object.keys(def.lookups ?? {});
  const unknown = Object.keys(input.params).filter((k) => k.startsWith('lookup.') && !known.includes(k.slice('lookup.'.length)));
  if (unknown.length) {
    throw nonRetryable('InvalidInput', `params ${unknown.map((k) => `"${k}"`).join(', ')}: pipeline "${def.name}" has ${known.length ? `the lookups ${known.join(', ')} (set params["lookup.<name>"] to move one)` : 'no lookup tables'}`);
  }
}

/**
 * Refuses an ingest whose dataset name was defaulted from its source into a dataset another
 * source created (src/pipeline/dataset-source.ts), before the source is scanned or anything is
 * written. `source` is the source as planning resolved it. Returns whether the marker exists.
 */
export async function checkDatasetSource(deps: ActivityDeps, input: ResolvedIngest, source: string, log: ReturnType<typeof logger>): Promise<boolean> {
  const owner = await datasetOwnership(deps.s3, input.targetBucket, input.targetPrefix, input.dataset);
  const url = datasetUrl(input);
  const verdict = judgeSource(input, source, owner.recorded, url, true);
  if (verdict.refusal) throw nonRetryable('DatasetConflict', verdict.refusal);
  if (verdict.note) log.warn({ dataset: url, source, recorded: owner.recorded?.source }, verdict.note);
  // Only a dataset about to be created: one made inside another before this check keeps working.
  const outer = owner.marker ? null : await enclosingDataset(deps.s3, input.targetBucket, input.targetPrefix, input.dataset);
  if (outer !== null) throw nonRetryable('DatasetConflict', nestedDatasetRefusal(input.targetBucket, input.targetPrefix, input.dataset, outer));
  return owner.marker;
}

/**
 * Writes the dataset marker (unless it exists) and the plan, both create-only; returns the
 * plan's key. The marker records the source that created the dataset; a marker that another
 * ingest wrote since the check is checked again, as that ingest may have read another source.
 */
export async function writePlan(deps: ActivityDeps, input: ResolvedIngest, body: Omit<Plan, 'id'>, source: { url: string; marker: boolean; log: ReturnType<typeof logger> }): Promise<string> {
  const id = sha(body, 16);
  const key = planKey(input.targetPrefix, input.dataset, id);
  if (!source.marker) {
    try {
      await putIfAbsent(deps.s3, input.targetBucket, markerKey(input.targetPrefix, input.dataset), JSON.stringify(datasetMarker(input.dataset, source.url)), 'application/json');
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      await checkDatasetSource(deps, input, source.url, source.log);
    }
  }
  try {
    await putIfAbsent(deps.s3, input.targetBucket, key, JSON.stringify({ ...body, id }), 'application/json');
  } catch (err) {
    if (!(err instanceof PreconditionFailedError)) throw err; // already there: same content
  }
  return key;
}

/**
 * The stages (raw too, when sources are imported) under whose prefix the target holds nothing
 * yet: one LIST of one key each. It is not part of the plan (whose id is its content) but of
 * the summary the workflow runs from.
 */
export async function emptyStages(deps: ActivityDeps, input: ResolvedIngest, stages: string[]): Promise<string[]> {
  const empty = await Promise.all(stages.map((s) => prefixIsEmpty(deps.s3, input.targetBucket, stagePrefix(input.targetPrefix, input.dataset, s))));
  return stages.filter((_, k) => empty[k]);
}
