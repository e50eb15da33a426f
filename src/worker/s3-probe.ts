import { S3Client } from '@aws-sdk/client-s3';
import { Config } from '../config';
import { logger } from '../log';
import { DEFAULT_TARGET_PREFIX } from '../pipeline/input';
import { describeEndpoint } from '../storage/client';
import { conditionalWrites } from '../storage/conditional';
import { describeCredentials, explainS3Failure, S3ConfigError, S3CredentialsError, S3EndpointError, S3RegionError } from '../storage/failures';

export interface S3Description {
  /** The endpoint, or "AWS S3 (region …)". */
  endpoint: string;
  /** Where the credentials come from. */
  credentials: string;
}

/**
 * S3 at a worker's start: learns early (and says once) whether the default bucket's store honours
 * create-only writes, probing where an ingest writes by default (credentials may be scoped to that
 * prefix). A failure is logged loudly, with the endpoint, the credentials' source and the cause,
 * but does not stop the worker: S3 may come up later, a user be created, a role be granted.
 * Only a setting that no retry can fix throws: no region at all (S3ConfigError), which every
 * request of every partition would fail on.
 */
export async function probeS3(s3: S3Client, config: Config): Promise<S3Description> {
  const cfg = config.s3;
  const credentials = describeCredentials(cfg);
  const bucket = config.bucket;
  try {
    // The region first: PARTFLOW_CONDITIONAL_WRITES=on or off sends no probe request to find it missing.
    await s3.config.region();
    const ok = await conditionalWrites(s3, bucket, DEFAULT_TARGET_PREFIX);
    logger().info({ bucket, conditionalWrites: ok }, 'checked the store for conditional writes');
  } catch (raw) {
    const err = (await explainS3Failure(raw, { cfg })) ?? raw;
    if (err instanceof S3ConfigError) throw err;
    const endpoint = await describeEndpoint(s3, cfg);
    // Refused keys, a wrong region, an endpoint that is no S3 API: no wait fixes these, a person must.
    const level = err instanceof S3CredentialsError || err instanceof S3RegionError || err instanceof S3EndpointError ? 'error' : 'warn';
    logger()[level]({ bucket, endpoint, credentials, err: (err as Error).message },
      'could not probe the default bucket for conditional writes, so S3 may be unusable: see err; will probe each bucket on first commit');
  }
  return { endpoint: await describeEndpoint(s3, cfg), credentials };
}
