import { formatS3Url } from './s3url';

/**
 * What a 409 to a conditional write means. Only a 412 says that the object exists (or changed
 * since it was read); a 409 never does. AWS answers 409 ConditionalRequestConflict when another
 * conditional write to the same key is under way, which means "try again". Any other 409 is the
 * store's own refusal: versitygw's posix backend answers ExistingObjectIsDirectory for a key
 * that is a directory there (another object's prefix) and for one it cannot write (an immutable
 * file, a read-only directory). Either is said with S3's code and words and the object's URL.
 */

function said(err: unknown): string {
  const e = err as { name?: string; message?: string; said?: string };
  // The direct path keeps S3's own "Code: Message" apart from its longer message.
  return e.said ?? `${e.name ?? 'Error'}: ${e.message ?? ''}`;
}

/** Another conditional write to the key was under way: transient, the next attempt decides. */
export class ConditionalConflictError extends Error {
  /** As the SDK marks the errors its own retries take. */
  readonly $retryable = { throttling: false };
  constructor(readonly bucket: string, readonly key: string, what: string, cause: unknown) {
    super(`${what} ${formatS3Url({ bucket, key })}: another conditional write to this object was under way (S3 409 ${said(cause)}); transient, retried`, { cause });
    this.name = 'ConditionalRequestConflict';
  }
}

/** The store refused the write with a 409 of its own: `name` is S3's code. */
export class WriteRefusedError extends Error {
  readonly $metadata: { httpStatusCode: number };
  constructor(readonly bucket: string, readonly key: string, what: string, cause: unknown) {
    const code = (cause as Error)?.name || 'Conflict';
    super(`${what} ${formatS3Url({ bucket, key })}: S3 refused the write (409 ${said(cause)}), which does not mean that the object exists`, { cause });
    this.name = code;
    this.$metadata = { httpStatusCode: 409 };
  }
}

/** The error to throw for a 409 to a conditional write of `bucket`/`key`; undefined for any other failure. */
export function conflictOf(err: unknown, bucket: string, key: string, what = 'PUT'): Error | undefined {
  if (err instanceof ConditionalConflictError || err instanceof WriteRefusedError) return err;
  if ((err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode !== 409) return undefined;
  if ((err as Error)?.name === 'ConditionalRequestConflict') return new ConditionalConflictError(bucket, key, what, err);
  return new WriteRefusedError(bucket, key, what, err);
}
