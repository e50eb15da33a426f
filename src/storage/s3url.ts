/** Parsing and formatting of `s3://bucket/key` URLs. Pure, so workflows may use it. */
import { shown } from '../log/shown';

export interface S3Location {
  bucket: string;
  key: string;
}

// S3 bucket naming rules (lower-case, 3-63, no leading/trailing dot or dash).
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export class S3UrlError extends Error {
  constructor(url: unknown, reason: string) {
    super(`invalid S3 URL ${shown(url)}: ${reason}`);
    this.name = 'S3UrlError';
  }
}

export function parseS3Url(url: unknown, opts: { prefix?: boolean } = {}): S3Location {
  if (typeof url !== 'string' || url.length === 0) throw new S3UrlError(url, 'expected a string like s3://bucket/prefix/');
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(url);
  if (!m) throw new S3UrlError(url, url.startsWith('s3://') ? 'no bucket name after s3://' : 'must start with s3://');
  const bucket = m[1];
  const key = m[2] ?? '';
  if (!BUCKET_RE.test(bucket)) throw new S3UrlError(url, `bad bucket name ${shown(bucket)}`);
  checkKey(url, key);
  if (opts.prefix && key !== '' && !key.endsWith('/')) {
    return { bucket, key: key + '/' };
  }
  return { bucket, key };
}

export function checkKey(url: unknown, key: string): void {
  if (key.length > 1024) throw new S3UrlError(url, 'key longer than 1024 bytes');
  const parts = key.split('/');
  if (parts.some((p) => p === '..' || p === '.')) throw new S3UrlError(url, '"." or ".." segments are not allowed in keys');
  if (key.startsWith('/')) throw new S3UrlError(url, 'key must not start with "/"');
  if (/\/\//.test(key)) throw new S3UrlError(url, 'empty path segment ("//") in key');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) throw new S3UrlError(url, 'control characters in key');
}

export function formatS3Url(loc: S3Location): string {
  return `s3://${loc.bucket}/${loc.key}`;
}

