import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, ListPartsCommand,
  S3Client, UploadPartCommand,
} from '@aws-sdk/client-s3';
import { setTimeout as sleep } from 'node:timers/promises';
import { conditionalWrites, probePrefixFor } from './conditional';
import { conflictOf } from './conflicts';
import { isNotFound, isTransient, objectExists, PreconditionFailedError, sendPut } from './objects';
import { formatS3Url } from './s3url';
import { envInteger } from '../config/errors';

export interface UploadedPart {
  PartNumber: number;
  ETag: string;
  size: number;
}

/** What a resumed attempt needs to carry on an upload: small enough for heartbeat details. */
export interface MultipartState {
  key: string;
  uploadId?: string;
  parts: UploadedPart[];
  bytesUploaded: number;
}

export const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_PART_SIZE = 5 * 1024 ** 3;

/**
 * PARTFLOW_PART_SIZE (default 8 MiB). Checkpoints inside a partition happen at part boundaries, so
 * this is also their spacing. Read when used, not at import, so a bad value cannot stop `--help`.
 */
export function partSizeFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  return envInteger(env, 'PARTFLOW_PART_SIZE', { min: MIN_PART_SIZE, max: MAX_PART_SIZE, fallback: 8 * 1024 * 1024, what: `a number of bytes from ${MIN_PART_SIZE} (5 MiB, S3's smallest part) to ${MAX_PART_SIZE} (5 GiB)` });
}

/**
 * Streams bytes into one S3 object. Chunks are kept whole: once the bytes waiting reach the part
 * size they all go up as one part, so every part ends where a write() ended (for Avro, at a
 * block boundary) and memory stays at about one part. An object smaller than a part is written
 * with a single PUT. Part boundaries depend only on the sequence of writes, so a resumed writer,
 * given the state of an earlier attempt and the same writes from there on, produces the same
 * object. The final write is create-only: an existing object is never replaced.
 */
export class MultipartWriter {
  private pending: Buffer[] = [];
  private pendingSize = 0;
  private uploadId?: string;
  private parts: UploadedPart[];
  private bytesUploaded: number;
  private size?: number;

  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
    readonly key: string,
    private readonly opts: { partSize?: number; contentType?: string; resume?: MultipartState; pending?: Buffer } = {},
  ) {
    const r = opts.resume;
    if (r && r.key !== key) throw new Error(`cannot resume upload of ${r.key} as ${key}`);
    this.uploadId = r?.uploadId;
    this.parts = r ? [...r.parts] : [];
    this.bytesUploaded = r?.bytesUploaded ?? 0;
    if (opts.pending?.length) {
      this.pending = [opts.pending];
      this.pendingSize = opts.pending.length;
    }
  }

  get partSize(): number {
    this.size ??= Math.max(this.opts.partSize ?? partSizeFromEnv(), MIN_PART_SIZE);
    return this.size;
  }

  state(): MultipartState {
    return { key: this.key, uploadId: this.uploadId, parts: [...this.parts], bytesUploaded: this.bytesUploaded };
  }

  /** Bytes accepted but not yet uploaded. */
  get buffered(): number {
    return this.pendingSize;
  }

  /** Accepts a chunk; returns true when this write completed a part (nothing is left waiting). */
  async write(chunk: Buffer): Promise<boolean> {
    if (chunk.length === 0) return false;
    this.pending.push(chunk);
    this.pendingSize += chunk.length;
    if (this.pendingSize < this.partSize) return false;
    const part = Buffer.concat(this.pending, this.pendingSize);
    this.pending = [];
    this.pendingSize = 0;
    await this.uploadPart(part);
    return true;
  }

  /** Bytes accepted but not uploaded yet, for a checkpoint that must carry them. */
  pendingBytes(): Buffer {
    return Buffer.concat(this.pending, this.pendingSize);
  }

  /**
   * Checks a resumed upload against the server: the upload must still exist and hold the
   * parts we recorded, else the caller starts over. Only that definite answer starts over: a
   * check that keeps failing throws, so the attempt fails, the checkpoint survives for the next
   * one, and the upload is not left behind half done.
   */
  async verifyResume(): Promise<boolean> {
    if (!this.uploadId) return this.parts.length === 0;
    let server: Map<number, string>;
    try {
      server = await listUploadedParts(this.s3, this.bucket, this.key, this.uploadId);
    } catch (err) {
      if (isNotFound(err) || (err as Error).name === 'NoSuchUpload') return false;
      throw new Error(`could not check multipart upload ${this.uploadId} of ${formatS3Url({ bucket: this.bucket, key: this.key })} to resume it: ${(err as Error).message}`, { cause: err });
    }
    return this.parts.every((p) => server.get(p.PartNumber) === p.ETag.replace(/"/g, ''));
  }

  private async uploadPart(body: Buffer): Promise<void> {
    if (!this.uploadId) {
      const res = await this.s3.send(new CreateMultipartUploadCommand({
        Bucket: this.bucket, Key: this.key, ContentType: this.opts.contentType ?? 'application/octet-stream',
      }));
      if (!res.UploadId) throw new Error(`S3 returned no UploadId for ${this.key}`);
      this.uploadId = res.UploadId;
    }
    const PartNumber = this.parts.length + 1;
    const res = await this.s3.send(new UploadPartCommand({
      Bucket: this.bucket, Key: this.key, UploadId: this.uploadId, PartNumber, Body: body, ContentLength: body.length,
    }));
    this.parts.push({ PartNumber, ETag: res.ETag ?? '', size: body.length });
    this.bytesUploaded += body.length;
  }

  /** Uploads what is left and makes the object visible. Returns its total size. */
  async complete(): Promise<number> {
    const tail = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingSize = 0;
    try {
      const createOnly = await conditionalWrites(this.s3, this.bucket, probePrefixFor(this.key));
      // Without create-only writes, check first; a race past the check writes the same bytes.
      if (!createOnly && await objectExists(this.s3, this.bucket, this.key)) throw new PreconditionFailedError(this.bucket, this.key);
      if (!this.uploadId) {
        await sendPut(this.s3, this.bucket, this.key, tail, this.opts.contentType ?? 'application/octet-stream', createOnly);
        return tail.length;
      }
      if (tail.length > 0) await this.uploadPart(tail);
      await this.s3.send(new CompleteMultipartUploadCommand({
        Bucket: this.bucket, Key: this.key, UploadId: this.uploadId, IfNoneMatch: createOnly ? '*' : undefined,
        MultipartUpload: { Parts: this.parts.map(({ PartNumber, ETag }) => ({ PartNumber, ETag })) },
      }));
      return this.bytesUploaded;
    } catch (err) {
      const s = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (err instanceof PreconditionFailedError || s === 412 || (err as Error).name === 'PreconditionFailed') {
        await this.abort();
        throw new PreconditionFailedError(this.bucket, this.key);
      }
      // A 409 is no proof the object exists (conflicts.ts): the upload is kept for the next attempt.
      throw conflictOf(err, this.bucket, this.key, this.uploadId ? 'CompleteMultipartUpload of' : 'create-only PUT') ?? err;
    }
  }

  async abort(): Promise<void> {
    if (!this.uploadId) return;
    const uploadId = this.uploadId;
    this.uploadId = undefined;
    try {
      await this.s3.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: uploadId }));
    } catch {
      // Best effort: a leftover upload costs storage only; it never becomes a visible object.
    }
  }
}

/** ListParts calls per page before a transient failure is given up on. */
const LIST_ATTEMPTS = 3;

/**
 * Every part of an upload (number -> ETag without quotes), following ListParts' pages (at most
 * 1,000 parts each). Each page is tried a few times on transient errors, on top of the SDK's own
 * retries, because a failed check would otherwise cost a whole partition's progress.
 */
export async function listUploadedParts(
  s3: S3Client, bucket: string, key: string, uploadId: string, pageSize = 1000,
): Promise<Map<number, string>> {
  const parts = new Map<number, string>();
  let marker: string | undefined;
  for (;;) {
    const res = await retryTransient(() => s3.send(new ListPartsCommand({
      Bucket: bucket, Key: key, UploadId: uploadId, MaxParts: pageSize, PartNumberMarker: marker,
    })));
    for (const p of res.Parts ?? []) if (p.PartNumber !== undefined) parts.set(p.PartNumber, (p.ETag ?? '').replace(/"/g, ''));
    if (!res.IsTruncated) return parts;
    const next = res.NextPartNumberMarker;
    // A truncated page that does not move the marker would loop for ever.
    if (next === undefined || next === marker) throw new Error(`ListParts of ${formatS3Url({ bucket, key })} upload ${uploadId} is truncated but gives no next marker`);
    marker = next;
  }
}

async function retryTransient<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= LIST_ATTEMPTS || !isTransient(err)) throw err;
      await sleep(200 * 2 ** (attempt - 1));
    }
  }
}
