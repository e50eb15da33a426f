import { GetObjectCommand, GetObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { Config } from '../config';
import { logger } from '../log';
import { DEFAULT_TARGET_PREFIX } from '../pipeline/input';
import { describeEndpoint } from '../storage/client';
import { contentTypeInWords } from '../storage/misdirected';
import { conditionalWrites } from '../storage/conditional';
import { describeCredentials, explainS3Failure, notS3Endpoint, S3ConfigError, S3CredentialsError } from '../storage/failures';
import { refusesThisWorker, WorkerRefusal } from './refusals';
import { endpointPathNote } from '../storage/endpoint-path';

export interface S3Description {
  /** The endpoint, or "AWS S3 (region …)". */
  endpoint: string;
  /** Where the credentials come from. */
  credentials: string;
}

/**
 * A worker that S3 refuses, or that has no credentials to send, must not join the task queue:
 * it would fail every partition attempt it took within milliseconds and poll again at once, so
 * the retries of every other worker's runs would land on it too.
 */
export class WorkerS3RefusedError extends Error {
  constructor(readonly original: WorkerRefusal) {
    super(`the worker did not start: ${original.message}. A worker whose S3 credentials are refused or missing, or whose S3 settings name the wrong region or no S3 API, would fail every partition it took from the task queue, other workers' runs included; no retry fixes that, only other settings`, { cause: original });
    this.name = 'WorkerS3RefusedError';
  }
}

/**
 * A GET of a key that never exists under the default target prefix: any answer about the key
 * (NoSuchKey; AccessDenied from a store that hides missing keys from credentials that may not
 * list) says the store accepted the credentials. Sent whatever PARTFLOW_CONDITIONAL_WRITES says,
 * so that "on" or "off", which send no probe, check the credentials too.
 */
async function checkCredentials(s3: S3Client, bucket: string): Promise<void> {
  const Key = `${DEFAULT_TARGET_PREFIX}_partflow/probe/${randomUUID()}`;
  let found: GetObjectCommandOutput;
  try {
    found = await s3.send(new GetObjectCommand({ Bucket: bucket, Key }));
  } catch (err) {
    const name = (err as { name?: string })?.name;
    if (name === 'NoSuchKey' || name === 'NotFound' || name === 'AccessDenied') return;
    throw err;
  }
  (found.Body as { destroy?: () => void } | undefined)?.destroy?.();
  // The key is new: only a server that answers 200 to anything (a web page, the Temporal UI) has it.
  throw notS3Endpoint(await describeEndpoint(s3), `HTTP 200 with ${contentTypeInWords(found.ContentType)} to a GET of a key that does not exist`, `GetObject s3://${bucket}/${Key}`, undefined);
}

/**
 * The start-time check of the credentials, region and endpoint again, for a running worker whose
 * activity met a refusal (refusals.ts): the refusal it meets, or undefined when the store takes
 * this worker's settings (or the check fails otherwise: S3 out of reach says nothing about them).
 */
export async function recheckS3(s3: S3Client, config: Config): Promise<WorkerRefusal | undefined> {
  try {
    await checkCredentials(s3, config.bucket);
    return undefined;
  } catch (raw) {
    const err = (await explainS3Failure(raw, { cfg: config.s3 })) ?? raw;
    return refusesThisWorker(err) ? err : undefined;
  }
}

/**
 * S3 at a worker's start: checks that the store accepts the worker's credentials, then learns
 * early (and says once) whether the default bucket's store honours create-only writes, probing
 * where an ingest writes by default (credentials may be scoped to that prefix). Refused or
 * missing credentials, a wrong region, an endpoint that is no S3 API (WorkerS3RefusedError) and
 * no region at all (S3ConfigError) stop the worker: every request of every partition would fail
 * on them. Any other failure is logged
 * loudly, with the endpoint, the credentials' source and the cause, but does not stop the
 * worker: S3 may come up later, a bucket be created, a role be granted, and a transient outage
 * must not keep a fleet from starting.
 */
export async function probeS3(s3: S3Client, config: Config): Promise<S3Description> {
  const cfg = config.s3;
  const credentials = describeCredentials(cfg);
  const bucket = config.bucket;
  const pathNote = endpointPathNote(cfg.endpoint);
  // Said at the start too: with a bucket pasted into the endpoint, requests may succeed in the wrong place.
  if (pathNote) logger().warn({ endpoint: cfg.endpoint }, `S3 endpoint with a path${pathNote}`);
  try {
    // The region first: PARTFLOW_CONDITIONAL_WRITES=on or off sends no probe request to find it missing.
    await s3.config.region();
    await checkCredentials(s3, bucket);
    const ok = await conditionalWrites(s3, bucket, DEFAULT_TARGET_PREFIX);
    logger().info({ bucket, conditionalWrites: ok }, 'checked the store for conditional writes');
  } catch (raw) {
    const err = (await explainS3Failure(raw, { cfg })) ?? raw;
    if (err instanceof S3ConfigError) throw err;
    if (refusesThisWorker(err)) throw new WorkerS3RefusedError(err);
    const endpoint = await describeEndpoint(s3, cfg);
    // Credentials the store knows but does not let at the default bucket: a grant may follow.
    const level = err instanceof S3CredentialsError ? 'error' : 'warn';
    const missing = (err as { name?: string }).name === 'NoSuchBucket';
    logger()[level]({ bucket, endpoint, credentials, err: (err as Error).message }, missing
      ? `the default bucket "${bucket}" (PARTFLOW_BUCKET) does not exist at ${endpoint}: a starting worker checks its credentials and the store's conditional writes there. Set PARTFLOW_BUCKET to a bucket of yours, or create it. Runs are not affected: each run's target bucket is probed on its first commit${endpointPathNote(cfg.endpoint)}`
      : 'could not probe the default bucket (PARTFLOW_BUCKET) for conditional writes, so S3 may be unusable: see err; will probe each bucket on first commit');
  }
  return { endpoint: await describeEndpoint(s3, cfg), credentials };
}
