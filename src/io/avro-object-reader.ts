import { S3Client } from '@aws-sdk/client-s3';
import { Type } from 'avsc';
import { Readable } from 'node:stream';
import { BlockWalk, walkBlocks } from '../avro/block-walk';
import { SYNC_SIZE } from '../avro/container';
import { ContainerReader } from '../avro/container-reader';
import { ReadLimits } from '../avro/limits';
import { getObjectStream } from '../storage/objects';
import { formatS3Url } from '../storage/s3url';

export interface ReadOptions {
  readerType?: Type;
  limits?: Partial<ReadLimits>;
  /** Fails the read if the object's ETag is no longer this (it changed since planning). */
  ifMatch?: string;
}

/** Opens an Avro object in S3 for streaming reads. */
export async function openAvroObject(s3: S3Client, bucket: string, key: string, opts: ReadOptions = {}): Promise<ContainerReader> {
  const body = await getObjectStream(s3, bucket, key, undefined, opts.ifMatch);
  return ContainerReader.open(body, { name: formatS3Url({ bucket, key }), limits: opts.limits });
}

/**
 * Opens an Avro object at a block boundary found by an earlier read: the header is read from the
 * start of the object, then the data from `offset` on with a range request.
 */
export async function openAvroObjectAt(s3: S3Client, bucket: string, key: string, offset: number, opts: ReadOptions = {}): Promise<ContainerReader> {
  const head = await openAvroObject(s3, bucket, key, opts);
  const header = head.header;
  head.close();
  if (offset <= header.headerSize) return openAvroObject(s3, bucket, key, opts);
  const body = await getObjectStream(s3, bucket, key, { start: offset }, opts.ifMatch);
  return ContainerReader.resume(header, body, offset, { name: formatS3Url({ bucket, key }), limits: opts.limits });
}

/** Every record of an Avro object, in order, with its index. */
export async function* readAvroRecords(
  s3: S3Client, bucket: string, key: string, opts: ReadOptions = {},
): AsyncGenerator<{ record: unknown; index: number }> {
  const reader = await openAvroObject(s3, bucket, key, opts);
  yield* reader.records(opts.readerType);
}

/**
 * Walks the blocks of a listed Avro object (one GET, at the listed ETag) to find where the pieces
 * with these nominal byte ranges start (see block-walk.ts).
 */
export async function walkAvroObject(
  s3: S3Client, bucket: string, obj: { key: string; etag: string; size: number }, ranges: [number, number][], opts: { limits?: Partial<ReadLimits>; onProgress?: (offset: number) => void } = {},
): Promise<BlockWalk> {
  const body = await getObjectStream(s3, bucket, obj.key, undefined, obj.etag);
  return walkBlocks(body, obj.size, ranges, { name: formatS3Url({ bucket, key: obj.key }), ...opts });
}

/** An open piece of an Avro object: read `reader.blocks()` and stop at the first block at or past `end`. */
export interface AvroPiece {
  reader: ContainerReader;
  /** Blocks that start at or after this offset belong to the next piece. */
  end: number;
}

/**
 * Opens a piece of an Avro object. A piece planned with `blocks` (the bytes of its blocks, from
 * planning's walk of the object) is read exactly there. One planned before the walk existed has
 * only its nominal `range`: then, as Hadoop's and Spark's Avro splits do, a piece that starts
 * inside the object begins at the first sync marker at or after `start - 16` (which a copy of
 * the marker inside a value fools). `at`, a block offset an earlier read reached, resumes there
 * instead.
 */
export async function openAvroPiece(
  s3: S3Client, bucket: string, key: string, piece: { range?: [number, number]; blocks?: [number, number]; at?: number }, opts: ReadOptions = {},
): Promise<AvroPiece> {
  if (piece.blocks) return openBlocks(s3, bucket, key, piece.blocks, piece.at, opts);
  const end = piece.range && piece.range[1] >= 0 ? piece.range[1] : Infinity;
  if (piece.at !== undefined && piece.at > 0) return { reader: await openAvroObjectAt(s3, bucket, key, piece.at, opts), end };
  const first = await openAvroObject(s3, bucket, key, opts);
  const start = piece.range?.[0] ?? 0;
  if (start <= first.header.headerSize) return { reader: first, end };
  const header = first.header;
  first.close();
  const name = formatS3Url({ bucket, key });
  const from = start - SYNC_SIZE;
  const body = await getObjectStream(s3, bucket, key, { start: from }, opts.ifMatch);
  // One iterator for the search and the rest: leaving a for-await early would destroy the stream.
  const chunks = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const found = await seekSync(chunks, header.sync);
  if (!found) {
    body.destroy();
    return { reader: ContainerReader.resume(header, emptySource(), start, { name, limits: opts.limits }), end };
  }
  const source = prepend(found.rest, chunks, body);
  return { reader: ContainerReader.resume(header, source, from + found.index + SYNC_SIZE, { name, limits: opts.limits }), end };
}

/** The blocks in [start, end) (true block starts, from planning's walk), or from `at` on; a ranged GET that ends where the next piece begins. */
async function openBlocks(s3: S3Client, bucket: string, key: string, [start, end]: [number, number], at: number | undefined, opts: ReadOptions): Promise<AvroPiece> {
  const from = at !== undefined && at > start ? at : start;
  const name = formatS3Url({ bucket, key });
  // The header's GET ends where the piece does: for the first piece it reads on into its blocks.
  const head = await ContainerReader.open(await getObjectStream(s3, bucket, key, { start: 0, end }, opts.ifMatch), { name, limits: opts.limits });
  if (from <= head.header.headerSize) return { reader: head, end };
  const header = head.header;
  head.close();
  const body = await getObjectStream(s3, bucket, key, { start: from, end }, opts.ifMatch);
  return { reader: ContainerReader.resume(header, body, from, { name, limits: opts.limits }), end };
}

/** Reads until `sync` is found; returns its index in the stream and the bytes after it. */
async function seekSync(chunks: AsyncIterator<Buffer>, sync: Buffer): Promise<{ index: number; rest: Buffer } | null> {
  let buf: Buffer = Buffer.alloc(0);
  let base = 0;
  for (;;) {
    const { value, done } = await chunks.next();
    if (done) return null;
    buf = buf.length ? Buffer.concat([buf, value]) : value;
    const i = buf.indexOf(sync);
    if (i >= 0) return { index: base + i, rest: buf.subarray(i + SYNC_SIZE) };
    // Keep the last 15 bytes: a marker may straddle two chunks.
    const keep = Math.min(buf.length, SYNC_SIZE - 1);
    base += buf.length - keep;
    buf = Buffer.from(buf.subarray(buf.length - keep));
  }
}

function prepend(head: Buffer, chunks: AsyncIterator<Buffer>, body: Readable): AsyncIterable<Buffer> & { destroy(): void } {
  async function* gen() {
    if (head.length) yield head;
    for (;;) {
      const { value, done } = await chunks.next();
      if (done) return;
      yield value;
    }
  }
  return Object.assign(gen(), { destroy: () => body.destroy() });
}

async function* emptySource(): AsyncGenerator<Buffer> {
  // A piece with no block start in it: nothing to read.
}
