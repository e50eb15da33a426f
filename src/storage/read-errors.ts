import { Readable } from 'node:stream';
import { formatS3Url } from './s3url';

/**
 * A connection that breaks while an object's body is read surfaces from node as a bare "aborted"
 * or "Premature close" (ECONNRESET): no object, no store. The failures of the request itself are
 * said by the client (failures.ts); these come later, from the body stream, so the stream says them.
 */
export class S3ReadError extends Error {
  /** The cause's code (ECONNRESET…), so retries and isTransient see what they saw before. */
  readonly code: string | undefined;
  /** As the SDK marks the errors its own retries take: the next attempt reads again. */
  readonly $retryable = { throttling: false };
  constructor(readonly bucket: string, readonly key: string, endpoint: string, cause: Error) {
    const code = (cause as { code?: string }).code;
    super(`reading ${formatS3Url({ bucket, key })} from ${endpoint} broke off: ${cause.message}${code && !cause.message.includes(code) ? ` (${code})` : ''}; transient, retried`, { cause });
    this.name = 'S3ReadError';
    this.code = code;
  }
}

const BROKEN = /^(ECONNRESET|ECONNABORTED|EPIPE|ETIMEDOUT|ERR_STREAM_PREMATURE_CLOSE)$/;

/** A network break, not a reader's own error (a reader that destroys the stream with its parse error keeps it). */
function broken(err: Error): boolean {
  const code = (err as { code?: string }).code;
  return (code !== undefined && BROKEN.test(code)) || /^(aborted|Premature close|socket hang up)$/.test(err.message);
}

/**
 * Makes the errors a body stream ends with name the object and the endpoint. The stream stays
 * the same object (no extra stream in the hot path): only the error its destroy settles with
 * changes, and that is the one 'error' listeners and async iterators get. `endpoint` is asked
 * only on such an error.
 */
export function nameReadErrors<T extends Readable>(body: T, bucket: string, key: string, endpoint: () => Promise<string>): T {
  const destroy = body._destroy;
  body._destroy = function (err: Error | null, cb: (error?: Error | null) => void) {
    destroy.call(this, err, (e?: Error | null) => {
      if (!e || e instanceof S3ReadError || !broken(e)) return cb(e);
      endpoint().catch(() => 'the S3 endpoint').then((at) => cb(new S3ReadError(bucket, key, at, e)));
    });
  };
  return body;
}
