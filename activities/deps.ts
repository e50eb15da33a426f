import { S3Client } from '@aws-sdk/client-s3';
import { Config } from '../src/config';
import { PipelineRegistry } from '../src/pipeline/registry';
import { Plan } from '../src/pipeline/plan';
import { WeightedLru } from '../src/io/weighted-lru';
import { getObjectBuffer, headObject, ObjectNotFoundError } from '../src/storage/objects';
import { formatS3Url } from '../src/storage/s3url';
import { S3CredentialsError, S3EndpointError, S3RegionError, S3SetupError, unreachable } from '../src/storage/failures';
import { workerIdentity } from '../src/worker/identity';
import type { RefusalWatch } from '../src/worker/refusals';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import { notePlan } from '../src/metrics';
import { endpointPathNote } from '../src/storage/endpoint-path';

/** What activities need from the worker: configuration, an S3 client, the registered pipelines. */
export interface ActivityDeps {
  config: Config;
  s3: S3Client;
  registry: PipelineRegistry;
  /** A worker's: whether S3 now refuses it, so that it stops (worker/refusals.ts). */
  refusals?: RefusalWatch;
}

/** Non-retryable failure types: a retry cannot help, a person must act. */
export const FailureTypes = {
  InvalidInput: 'InvalidInput',
  UnknownPipeline: 'UnknownPipeline',
  SourceEmpty: 'SourceEmpty',
  UnsupportedSource: 'UnsupportedSource',
  InputMissing: 'InputMissing',
  InputChanged: 'InputChanged',
  CorruptInput: 'CorruptInput',
  OutputConflict: 'OutputConflict',
  TransformFailed: 'TransformFailed',
  SchemaMismatch: 'SchemaMismatch',
  /** S3 refused the request for good: access denied, credentials unknown or wrong, the clock skewed. */
  AccessDenied: 'AccessDenied',
  /** S3 refused the region partflow signs for, or the bucket is in another one (AWS_REGION). */
  WrongRegion: 'WrongRegion',
  /** The S3 endpoint answers, but is not an S3 API: a console port, a web server, http vs https (AWS_ENDPOINT_URL_S3). */
  NotS3Endpoint: 'NotS3Endpoint',
  /** Kafka: offsets to ingest are no longer on the broker (retention), and allowGaps is off. */
  OffsetsGone: 'OffsetsGone',
  /** Kafka: the topic was deleted and created again since the dataset's offsets were committed (its topic ID changed). */
  TopicRecreated: 'TopicRecreated',
  /** Kafka: another run advanced the dataset's offsets since this run planned. */
  OffsetsConflict: 'OffsetsConflict',
  /** The dataset, named after the source by default, was created by another source. */
  DatasetConflict: 'DatasetConflict',
} as const;

export function nonRetryable(type: keyof typeof FailureTypes, message: string, cause?: unknown): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, cause: cause instanceof Error ? cause : undefined });
}

/**
 * S3 answers that no retry changes, as non-retryable failures that say what was being done,
 * where, and what to check: a bucket that does not exist, refused credentials (S3's client says
 * which, from where: storage/failures.ts), a 403 (access denied, a skewed clock), a wrong region
 * and an endpoint that is no S3 API (storage/misdirected.ts); and an S3
 * server that does not answer, said plainly but retryable (it may be starting). Anything else:
 * undefined, for the caller's own handling.
 */
export function storageRefusal(err: unknown, what: string, endpoint: string | undefined): ApplicationFailure | undefined {
  if (err instanceof ApplicationFailure) return undefined;
  const e = err as { name?: string; message?: string; BucketName?: string; $metadata?: { httpStatusCode?: number } };
  const at = endpoint ? ` at ${endpoint}` : '';
  if (e?.name === 'NoSuchBucket') {
    return nonRetryable('InputMissing', `${what}: the bucket ${e.BucketName ? `"${e.BucketName}" ` : ''}does not exist${at}${endpointPathNote(endpoint)}`, err);
  }
  // A client of storage/client.ts has said these already; any other client's errors get the same words.
  const down = unreachable(err, { cfg: { endpoint, forcePathStyle: true } });
  if (down) return ApplicationFailure.create({ type: 'StoreUnreachable', nonRetryable: false, cause: down, message: `${what}: ${down.message}${onThisWorker()}` });
  if (err instanceof S3CredentialsError) return nonRetryable('AccessDenied', `${what}: ${err.message}${onThisWorker()}`, err);
  if (err instanceof S3RegionError) return nonRetryable('WrongRegion', `${what}: ${err.message}${onThisWorker()}`, err);
  if (err instanceof S3EndpointError) return nonRetryable('NotS3Endpoint', `${what}: ${err.message}${onThisWorker()}`, err);
  if (e?.$metadata?.httpStatusCode !== 403) return undefined;
  const said = `S3 said ${e.name}: ${e.message}`;
  const check = e.name === 'InvalidAccessKeyId' || e.name === 'SignatureDoesNotMatch'
    ? 'check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the credential chain) and AWS_REGION'
    : e.name === 'RequestTimeTooSkewed' ? 'check this machine\'s clock' : 'the credentials may not do this here: check their permissions';
  return nonRetryable('AccessDenied', `${what}: S3${at} refused the request (${said}); ${check}`, err);
}

export function isPreconditionFailed(err: unknown): boolean {
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 412;
}

/** The failure for a source object whose ETag is no longer the one the plan saw. */
export async function changedInput(deps: ActivityDeps, bucket: string, key: string, expected: string, where: string): Promise<ApplicationFailure> {
  const actual = await headObject(deps.s3, bucket, key).then((h) => h.etag, () => '(gone)');
  return nonRetryable('InputChanged', `${where}: source object ${formatS3Url({ bucket, key })} changed since planning: expected checksum (ETag) ${expected}, found ${actual}; start a new ingest`);
}

// Plans are immutable (content-addressed), so caching them per worker is safe. Bounded by their
// text's size as well as their number: a plan of many thousands of partitions runs to megabytes,
// and a long-lived worker that served many such runs would otherwise hold them all.
const plans = new WeightedLru<Promise<Plan>>(64, 256 * 1024 * 1024);

export function loadPlan(deps: ActivityDeps, bucket: string, key: string): Promise<Plan> {
  const id = `${bucket}/${key}`;
  const hit = plans.get(id);
  if (hit) return hit;
  const p: Promise<Plan> = getObjectBuffer(deps.s3, bucket, key, 512 * 1024 * 1024)
    .then((b) => {
      const plan = JSON.parse(b.toString('utf8')) as Plan;
      notePlan(key, plan.pipeline);
      plans.weigh(id, p, b.length);
      return plan;
    })
    .catch((err) => {
      plans.delete(id, p);
      if (err instanceof ObjectNotFoundError) throw nonRetryable('InputMissing', `plan ${formatS3Url({ bucket, key })} does not exist`);
      throw err;
    });
  plans.set(id, p);
  return p;
}

/** For failures only this worker's machine causes: which worker it was (Temporal's identity of it). */
function onThisWorker(): string {
  return ` (on worker ${workerIdentity()})`;
}

/** A set-up failure (refused credentials, S3 out of reach) says which worker saw it, once. */
function withWorker(message: string, err: unknown): string {
  return err instanceof S3SetupError && !message.endsWith(onThisWorker()) ? `${message}${onThisWorker()}` : message;
}

/**
 * Re-throws a partition activity's error as an ApplicationFailure that carries the attempt
 * number, so that the workflow can report attempts; retryability and type are kept.
 */
export function withAttempt(err: unknown): unknown {
  if (err instanceof CancelledFailure) return err;
  const attempt = Context.current().info.attempt;
  if (err instanceof ApplicationFailure) {
    return ApplicationFailure.create({ type: err.type ?? 'Error', message: withWorker(err.message, err.cause), nonRetryable: err.nonRetryable ?? false, details: [{ attempt }], cause: err.cause });
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return ApplicationFailure.create({ type: e.name || 'Error', message: withWorker(e.message, e), nonRetryable: false, details: [{ attempt }], cause: e });
}
