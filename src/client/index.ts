import type { S3Client } from '@aws-sdk/client-s3';
import { Client, Connection, WorkflowHandle } from '@temporalio/client';
import { connectTemporal } from '../temporal/connect';
import { Config } from '../config';
import { IngestInput, ResolvedIngest, resolveNewIngest } from '../pipeline/input';
import { datasetOwnership, DatasetSourceConflictError, judgeSource } from '../pipeline/dataset-source';
import { enclosingDataset, NestedDatasetError, nestedDatasetRefusal } from '../pipeline/nested-dataset';
import { describeEndpoint, s3Client } from '../storage/client';
import { S3SetupError } from '../storage/failures';
import { datasetUrl } from '../pipeline/layout';
import { readPublished } from '../sources/kafka/published';
import { UnsupportedSourceError } from '../pipeline/source-format';
import { holdsNoSourceObjects, listSource, SourceBucketMissingError, SourceEmptyError, sourceRefusal, TargetBucketMissingError } from '../pipeline/source-listing';
import { prefixIsEmpty } from '../storage/objects';
import { ensureSearchAttributes } from '../temporal/search-attributes';
import { ignoredStartOffsetsNote, withDatasetValue } from './kafka-note';

/** A client by Temporal's connection conventions (TEMPORAL_* variables, config file profile; see src/temporal/connection.ts). */
export async function connectClient(cfg: Config): Promise<{ client: Client; connection: Connection }> {
  const connection = await connectTemporal(cfg.temporal);
  return { client: new Client({ connection, namespace: cfg.temporalNamespace }), connection };
}

export function defaultWorkflowId(input: IngestInput): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `ingest-${input.pipeline}-${stamp}-${Math.random().toString(36).slice(2, 6)}`;
}

const SOURCE_CHECK_MS = 10_000;

/** The value of `p`, or undefined when it fails or takes past `deadline` (then `onLate` is told). */
async function beforeDeadline<T>(p: Promise<T>, deadline: number, onLate?: () => void): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const v = await Promise.race([
    p.catch(() => undefined),
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => { onLate?.(); resolve(undefined); }, Math.max(0, deadline - Date.now()));
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
  return v;
}

/**
 * Refuses an ingest whose defaulted dataset name belongs to another source, as planning would,
 * so that no failed run is left behind and `ingest` without --wait says so too. Planning's check
 * is the one that counts: this one gives way (says nothing) when it cannot read the target in
 * time, and compares sources as typed, so it refuses only what planning would refuse. Planning
 * looks for source objects first, so an S3 source that would be refused is listed first too: a
 * typo'd source is empty, and "no source objects under …" is what the person must hear, not
 * that its dataset name is taken (whose fix, another --dataset, would end in the same emptiness).
 * A new dataset inside another dataset's folder is refused too (src/pipeline/nested-dataset.ts).
 */
export async function checkDatasetSource(cfg: Config, r: ResolvedIngest, onNote?: (note: string) => void, deadline = Date.now() + SOURCE_CHECK_MS): Promise<void> {
  const s3 = s3Client(cfg.s3);
  const owner = await beforeDeadline(datasetOwnership(s3, r.targetBucket, r.targetPrefix, r.dataset), deadline);
  if (!owner) return;
  const verdict = judgeSource(r, r.source, owner.recorded, datasetUrl(r));
  if (verdict.refusal) {
    const listing = r.kafka ? undefined : await beforeDeadline(listSource(s3, r.sourceBucket, r.sourcePrefix), deadline);
    if (listing && holdsNoSourceObjects(listing)) throw new SourceEmptyError(r.source);
    throw new DatasetSourceConflictError(verdict.refusal);
  }
  if (verdict.note) onNote?.(verdict.note);
  const outer = owner.marker ? null : await beforeDeadline(enclosingDataset(s3, r.targetBucket, r.targetPrefix, r.dataset), deadline);
  if (outer) throw new NestedDatasetError(nestedDatasetRefusal(r.targetBucket, r.targetPrefix, r.dataset, outer));
}

const NO_BUCKET = Symbol('no such bucket');

/** A listing's answer, or NO_BUCKET when S3 said the bucket does not exist; other failures fail it. */
function unlessNoBucket<T>(listing: Promise<T>): Promise<T | typeof NO_BUCKET> {
  return listing.catch((err: unknown) => {
    if ((err as Error)?.name === 'NoSuchBucket') return NO_BUCKET;
    throw err;
  });
}

async function noBucketError(r: ResolvedIngest, s3: S3Client): Promise<SourceBucketMissingError> {
  return new SourceBucketMissingError(r.source, r.sourceBucket, await describeEndpoint(s3));
}

/**
 * Refuses an ingest of an S3 source that holds nothing (a typo, most often), whose names tell no
 * single format, or whose bucket does not exist, before a run is started only to fail planning:
 * one LIST (two for a key without "/" that is no object). Unsure, or unreadable in time, it is
 * left to planning. The format's refusal is returned, not thrown: a missing target bucket is
 * said before it, as the more basic mistake.
 */
async function refuseUnreadableSource(cfg: Config, r: ResolvedIngest, deadline: number, onNote?: (note: string) => void): Promise<UnsupportedSourceError | undefined> {
  if (r.kafka) return undefined;
  const s3 = s3Client(cfg.s3);
  // This shell's S3 settings may differ from the worker's, which plans the run: a refusal here
  // (wrong keys or region, no such endpoint, one that is no S3 API: every S3SetupError) does not
  // stop the start, but it is said, not swallowed; once the deadline has passed, it is not said.
  let late = false;
  const listing = unlessNoBucket(sourceRefusal(s3, r.sourceBucket, r.sourcePrefix, r.source, r.format)).catch((err: unknown) => {
    if (err instanceof S3SetupError && !late) onNote?.(`could not check the source before starting, with this shell's S3 settings: ${err.message} — starting the run anyway: its worker reads S3 with its own settings`);
    throw err;
  });
  const refusal = await beforeDeadline(listing, deadline, () => { late = true; });
  if (late) onNote?.(`S3 at ${await describeEndpoint(s3)} did not answer within ${SOURCE_CHECK_MS / 1000} s: the source was not checked before starting. Starting the run anyway: its worker reads S3 with its own settings`);
  if (refusal === NO_BUCKET) throw await noBucketError(r, s3);
  if (refusal instanceof UnsupportedSourceError) return refusal;
  if (refusal) throw refusal;
  return undefined;
}

/**
 * Refuses a schedule of an S3 source whose bucket does not exist: every firing would fail. An
 * empty source is fine for a schedule (data may arrive before the first firing). One LIST of at
 * most one key; unsure, or unreadable in time, it says nothing.
 */
export async function refuseMissingSourceBucket(cfg: Config, r: ResolvedIngest): Promise<void> {
  if (r.kafka) return;
  const s3 = s3Client(cfg.s3);
  if (await beforeDeadline(unlessNoBucket(prefixIsEmpty(s3, r.sourceBucket, r.sourcePrefix)), Date.now() + SOURCE_CHECK_MS) === NO_BUCKET) throw await noBucketError(r, s3);
}

/**
 * Refuses an ingest or schedule whose target bucket does not exist (in another bucket than the
 * source's, which the source's check covers): planning would fail on it, leaving a failed run.
 * One LIST of at most one key; unsure, or unreadable in time, it is left to planning.
 */
export async function refuseMissingTargetBucket(cfg: Config, r: ResolvedIngest, deadline = Date.now() + SOURCE_CHECK_MS): Promise<void> {
  if (!r.kafka && r.targetBucket === r.sourceBucket) return;
  const s3 = s3Client(cfg.s3);
  const answer = await beforeDeadline(unlessNoBucket(prefixIsEmpty(s3, r.targetBucket, r.targetPrefix)), deadline).catch(() => undefined);
  if (answer === NO_BUCKET) throw new TargetBucketMissingError(r.target, r.targetBucket, await describeEndpoint(s3));
}

/** Starts an ingest, after making sure the namespace has the search attributes it sets (see ensureSearchAttributes). */
export async function startIngest(client: Client, cfg: Config, input: IngestInput, workflowId?: string, onNote?: (note: string) => void): Promise<WorkflowHandle> {
  // The workflow checks its input too; checking here first leaves no failed run behind a typo.
  const resolved = resolveNewIngest(input);
  // One deadline for every check: an S3 endpoint that accepts connections but never answers
  // delays the start by SOURCE_CHECK_MS once, not once per check.
  const deadline = Date.now() + SOURCE_CHECK_MS;
  const unsupported = await refuseUnreadableSource(cfg, resolved, deadline, onNote);
  await refuseMissingTargetBucket(cfg, resolved, deadline);
  if (unsupported) throw unsupported;
  await checkDatasetSource(cfg, resolved, onNote, deadline);
  if (resolved.kafka) {
    // What the dataset holds of the topic, read once for both Kafka checks; unreadable in time,
    // they are left to planning, which makes them too.
    const s3 = s3Client(cfg.s3);
    const published = await beforeDeadline(readPublished(s3, resolved.targetBucket, resolved.targetPrefix, resolved.dataset, resolved.kafka.topic), deadline);
    if (published !== undefined) {
      const ignored = await beforeDeadline(ignoredStartOffsetsNote(s3, resolved, input.startOffsets !== undefined, published), deadline);
      if (ignored) onNote?.(ignored);
      const valued = withDatasetValue(resolved, input, published);
      if (valued.note) onNote?.(valued.note);
      input = valued.input;
    }
  }
  await ensureSearchAttributes(client.connection.operatorService, { namespace: client.options.namespace, address: cfg.temporalAddress, ...(onNote ? { onNote } : {}) });
  return client.workflow.start('ingest', {
    taskQueue: cfg.taskQueue,
    workflowId: workflowId ?? defaultWorkflowId(input),
    args: [input],
    staticSummary: `ingest ${input.pipeline} from ${input.source}`,
  });
}


export { waitWithProgress, WaitingForRetry, WaitOptions } from './wait';
export { noWorkerPolling } from './no-worker';
