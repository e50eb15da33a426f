import { S3Client } from '@aws-sdk/client-s3';
import { Type } from 'avsc';
import { ContainerReader } from '../avro/container';
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
