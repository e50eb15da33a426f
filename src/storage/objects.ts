import {
  GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, S3ServiceException,
} from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { configOf, describeEndpoint, directOf } from './client';
import { endpointPathNote } from './endpoint-path';
import { conditionalWrites, probePrefixFor } from './conditional';
import { conflictOf } from './conflicts';
import { CREDENTIAL_CODES, S3SetupError } from './failures';
import { nameReadErrors } from './read-errors';
import { formatS3Url } from './s3url';

export interface ObjectInfo {
  key: string;
  size: number;
  etag: string;
  /** Set by listings (not by HEAD). */
  lastModified?: Date;
}

export class ObjectNotFoundError extends Error {
  /** Set when S3 said the bucket itself does not exist (NoSuchBucket; a HEAD's bare 404 cannot say). */
  readonly noBucket: boolean;
  constructor(readonly bucket: string, readonly key: string, cause?: unknown, endpoint?: string) {
    const noBucket = (cause as Error | undefined)?.name === 'NoSuchBucket';
    super(`${noBucket ? `bucket ${bucket} does not exist (S3 NoSuchBucket: check the bucket name and the endpoint), so neither does ${formatS3Url({ bucket, key })}` : `object not found: ${formatS3Url({ bucket, key })}`}${endpointPathNote(endpoint)}`);
    this.name = 'ObjectNotFoundError';
    this.noBucket = noBucket;
  }
}

/**
 * A bucket that does not exist, in the same words wherever it is met (the CLI, the dataset
 * functions): S3's own, "The specified bucket does not exist", name neither the bucket nor the store.
 */
export function bucketMissingMessage(bucket: string | undefined, endpoint: string | undefined): string {
  return `the bucket ${bucket ? `"${bucket}" ` : ''}does not exist${endpoint ? ` at ${endpoint}` : ''}: check the bucket name in the URL and AWS_ENDPOINT_URL_S3${endpointPathNote(endpoint)}`;
}

/**
 * The bucket an error says does not exist: S3's NoSuchBucket as the SDK gives it (its BucketName,
 * when the server sent one) or within an ObjectNotFoundError (a read's), else `fallback`.
 * Undefined for any other error.
 */
export function missingBucketOf(err: unknown, fallback: string): string | undefined {
  if (err instanceof ObjectNotFoundError) return err.noBucket ? err.bucket : undefined;
  const e = err as { name?: string; BucketName?: unknown } | undefined;
  if (e?.name !== 'NoSuchBucket') return undefined;
  return typeof e.BucketName === 'string' && e.BucketName ? e.BucketName : fallback;
}

export class PreconditionFailedError extends Error {
  constructor(readonly bucket: string, readonly key: string, what = 'object already exists') {
    super(`${what}: ${formatS3Url({ bucket, key })}`);
    this.name = 'PreconditionFailedError';
  }
}

function status(err: unknown): number | undefined {
  return (err as S3ServiceException)?.$metadata?.httpStatusCode;
}

/** An error worth another try: network trouble, timeouts, throttling, 5xx. */
export function isTransient(err: unknown): boolean {
  const e = err as { name?: string; code?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  const s = status(err);
  if (e?.$retryable || (s !== undefined && (s >= 500 || s === 429 || s === 408))) return true;
  const what = `${e?.name ?? ''} ${e?.code ?? ''}`;
  return /Throttl|SlowDown|RequestTimeout|TimeoutError|ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN|ENOTFOUND|socket hang up/i.test(what)
    || (s === undefined && /socket hang up|ECONNRESET|network/i.test((err as Error)?.message ?? ''));
}

/** A missing object or bucket; not a 404 whose code is about the credentials (versitygw's XAdminUserNotFound). */
export function isNotFound(err: unknown): boolean {
  const name = (err as Error)?.name;
  if (CREDENTIAL_CODES.has(name)) return false;
  return status(err) === 404 || name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchBucket';
}

function cleanEtag(etag: string | undefined): string {
  return (etag ?? '').replace(/^"|"$/g, '');
}

/** All objects under a prefix, sorted by key (S3 lists in UTF-8 byte order already; sort to be sure). */
export async function listObjects(s3: S3Client, bucket: string, prefix: string): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  let token: string | undefined;
  do {
    const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of res.Contents ?? []) {
      if (o.Key === undefined || o.Key.endsWith('/')) continue;
      out.push({ key: o.Key, size: o.Size ?? 0, etag: cleanEtag(o.ETag), ...(o.LastModified ? { lastModified: o.LastModified } : {}) });
    }
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** The first page (up to 1000 keys) of a listing, sorted, and whether more follow: one LIST. */
export async function listFirstPage(s3: S3Client, bucket: string, prefix: string): Promise<{ objects: ObjectInfo[]; truncated: boolean }> {
  const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  const objects = (res.Contents ?? []).filter((o) => o.Key !== undefined && !o.Key.endsWith('/'))
    .map((o): ObjectInfo => ({ key: o.Key!, size: o.Size ?? 0, etag: cleanEtag(o.ETag), ...(o.LastModified ? { lastModified: o.LastModified } : {}) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { objects, truncated: Boolean(res.IsTruncated) };
}

/** Whether no object at all has a key under `prefix` (one LIST of at most one key). */
export async function prefixIsEmpty(s3: S3Client, bucket: string, prefix: string): Promise<boolean> {
  const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 1 }));
  return (res.KeyCount ?? res.Contents?.length ?? 0) === 0;
}

/** Clients whose credentials the server has accepted (see headRefusal). */
const credentialsWork = new WeakSet<S3Client>();

/**
 * What a HEAD's 404, 403 or other refusal means. Its answer has no body, so no S3 error code:
 * versitygw answers an unknown access key with a bare 404 there, which would read as a missing
 * object, and a wrong region is a bare 400. Until a client's credentials have proved themselves
 * (always, for other refusals than a 404), a GET of the same key, whose answer has the code, says
 * which it is: the credential error, NoSuchBucket, a wrong region or an endpoint that is no S3
 * API (failures.ts), or (NoSuchKey) the HEAD's own answer.
 */
async function headRefusal(s3: S3Client, bucket: string, key: string, err: unknown): Promise<unknown> {
  const s = status(err);
  if (err instanceof S3SetupError || CREDENTIAL_CODES.has((err as Error)?.name)) return err;
  // Any other refusal (a 400, a redirect) is as bare: the GET says what it was (a wrong region, an endpoint that is no S3 API).
  const unexplained = s !== undefined && s >= 300 && s < 500 && s !== 404 && s !== 304 && s !== 412;
  if (!(unexplained || (s === 404 && !credentialsWork.has(s3)))) return err;
  try {
    const d = directOf(s3);
    const body = d ? await d.get(bucket, key) : (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body as Readable;
    body.destroy();
    return err;
  } catch (got) {
    const name = (got as Error)?.name;
    if (name === 'NoSuchKey' || name === 'NoSuchBucket') credentialsWork.add(s3);
    return name === 'NoSuchBucket' || CREDENTIAL_CODES.has(name) || got instanceof S3SetupError ? got : err;
  }
}

export async function headObject(s3: S3Client, bucket: string, key: string): Promise<ObjectInfo> {
  try {
    const d = directOf(s3);
    let info: ObjectInfo;
    if (d) {
      const h = await d.head(bucket, key);
      info = { key, size: h.size, etag: cleanEtag(h.etag) };
    } else {
      const res = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      info = { key, size: res.ContentLength ?? 0, etag: cleanEtag(res.ETag) };
    }
    credentialsWork.add(s3);
    return info;
  } catch (head) {
    const err = await headRefusal(s3, bucket, key, head);
    if (isNotFound(err)) throw new ObjectNotFoundError(bucket, key, err, configOf(s3)?.endpoint);
    throw err;
  }
}

/** Streams an object, or the byte range [start, end) of it; a connection that breaks mid-body fails naming both (read-errors.ts). */
export async function getObjectStream(
  s3: S3Client, bucket: string, key: string, range?: { start: number; end?: number }, ifMatch?: string,
): Promise<Readable> {
  let Range: string | undefined;
  if (range && (range.start > 0 || range.end !== undefined)) {
    if (range.end !== undefined && range.end <= range.start) return Readable.from([]);
    Range = `bytes=${range.start}-${range.end !== undefined ? range.end - 1 : ''}`;
  }
  try {
    const d = directOf(s3);
    const body = d
      ? await d.get(bucket, key, { ...(Range ? { range: Range } : {}), ...(ifMatch ? { 'if-match': ifMatch } : {}) })
      : (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range, IfMatch: ifMatch }))).Body as Readable;
    return nameReadErrors(body, bucket, key, () => describeEndpoint(s3));
  } catch (err) {
    if (isNotFound(err)) throw new ObjectNotFoundError(bucket, key, err, configOf(s3)?.endpoint);
    // A range that starts at the end of the object (an empty chunk) is simply no bytes.
    if (status(err) === 416 && range && range.start > 0) return Readable.from([]);
    throw err;
  }
}

export async function getObjectBuffer(s3: S3Client, bucket: string, key: string, maxBytes = 64 * 1024 * 1024): Promise<Buffer> {
  const stream = await getObjectStream(s3, bucket, key);
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    n += (c as Buffer).length;
    if (n > maxBytes) {
      stream.destroy();
      throw new Error(`${formatS3Url({ bucket, key })} is larger than the ${maxBytes}-byte limit for whole-object reads`);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/** A JSON object (a manifest, plan, cursor…); invalid JSON fails with an error that names the object. */
export async function getJson<T>(s3: S3Client, bucket: string, key: string, maxBytes?: number): Promise<T> {
  const buf = await getObjectBuffer(s3, bucket, key, maxBytes);
  try {
    return JSON.parse(buf.toString('utf8')) as T;
  } catch (err) {
    throw new Error(`${formatS3Url({ bucket, key })} is not valid JSON: ${(err as Error).message}`);
  }
}

/** getJson, or null when there is no such object. */
export async function getJsonIfPresent<T>(s3: S3Client, bucket: string, key: string, maxBytes?: number): Promise<T | null> {
  try {
    return await getJson<T>(s3, bucket, key, maxBytes);
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return null;
    throw err;
  }
}

export async function objectExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await headObject(s3, bucket, key);
    return true;
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return false;
    throw err;
  }
}

/**
 * Create-only put (`If-None-Match: *`). Throws PreconditionFailedError when the key exists (a
 * 412; a 409 is a conflict or a refusal: conflicts.ts).
 * Used for manifests, which are the commit point of every output.
 */
export async function putIfAbsent(
  s3: S3Client, bucket: string, key: string, body: Buffer | string, contentType = 'application/octet-stream',
): Promise<void> {
  if (!(await conditionalWrites(s3, bucket, probePrefixFor(key)))) {
    if (await objectExists(s3, bucket, key)) throw new PreconditionFailedError(bucket, key);
    await putObject(s3, bucket, key, body, contentType);
    return;
  }
  try {
    await sendPut(s3, bucket, key, body, contentType, true);
  } catch (err) {
    if (status(err) === 412 || (err as Error)?.name === 'PreconditionFailed') throw new PreconditionFailedError(bucket, key);
    throw conflictOf(err, bucket, key, 'create-only PUT') ?? err;
  }
}

export async function putObject(s3: S3Client, bucket: string, key: string, body: Buffer | string, contentType = 'application/octet-stream'): Promise<void> {
  await sendPut(s3, bucket, key, body, contentType, false);
}

/** One PUT, create-only or not, by the client's direct path when it has one, else the SDK. Errors are the caller's to map. */
export async function sendPut(s3: S3Client, bucket: string, key: string, body: Buffer | string, contentType: string, createOnly: boolean): Promise<void> {
  const d = directOf(s3);
  if (d) await d.put(bucket, key, Buffer.from(body), { 'content-type': contentType, ...(createOnly ? { 'if-none-match': '*' } : {}) });
  else await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType, IfNoneMatch: createOnly ? '*' : undefined }));
}

/** A small JSON object with the ETag it was read at (for putIfUnchanged), or null when there is none. */
export async function getJsonVersioned<T>(s3: S3Client, bucket: string, key: string): Promise<{ value: T; etag: string } | null> {
  let res;
  try {
    // The SDK, not the direct path: the ETag comes back with the body, so both are one version.
    res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  } catch (err) {
    if (isNotFound(err) && (err as Error)?.name !== 'NoSuchBucket') return null;
    if (isNotFound(err)) throw new ObjectNotFoundError(bucket, key, err, configOf(s3)?.endpoint);
    throw err;
  }
  const text = await (res.Body as { transformToString(enc: string): Promise<string> }).transformToString('utf8');
  try {
    return { value: JSON.parse(text) as T, etag: res.ETag ?? '' };
  } catch (err) {
    throw new Error(`${formatS3Url({ bucket, key })} is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * Writes an object only if it is still the version read: `If-Match` on the ETag getJsonVersioned
 * gave, or `If-None-Match: *` (etag null) where there was none. Throws PreconditionFailedError
 * when another writer got there first (or deleted it since).
 */
export async function putIfUnchanged(s3: S3Client, bucket: string, key: string, body: string, contentType: string, etag: string | null): Promise<void> {
  try {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType, ...(etag === null ? { IfNoneMatch: '*' } : { IfMatch: etag }) }));
  } catch (err) {
    if (status(err) === 412 || (err as Error)?.name === 'PreconditionFailed' || (etag !== null && isNotFound(err) && (err as Error)?.name !== 'NoSuchBucket')) {
      throw new PreconditionFailedError(bucket, key, 'object changed since it was read');
    }
    throw conflictOf(err, bucket, key, 'conditional PUT') ?? err;
  }
}
