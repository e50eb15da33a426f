import { S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { getObjectBuffer, listObjects } from '../../src/storage/objects';
import { parseS3Url } from '../../src/storage/s3url';
import { decodeAll } from './avro';

export async function getUrl(s3: S3Client, url: string): Promise<Buffer> {
  const l = parseS3Url(url);
  return getObjectBuffer(s3, l.bucket, l.key);
}

export async function getJson<T>(s3: S3Client, url: string): Promise<T> {
  return JSON.parse((await getUrl(s3, url)).toString('utf8')) as T;
}

/** All objects under an s3:// prefix: relative key -> bytes. */
export async function fetchTree(s3: S3Client, prefixUrl: string): Promise<Map<string, Buffer>> {
  const l = parseS3Url(prefixUrl);
  const out = new Map<string, Buffer>();
  for (const o of await listObjects(s3, l.bucket, l.key)) out.set(o.key.slice(l.key.length), await getObjectBuffer(s3, l.bucket, o.key));
  return out;
}

export async function decodeUrl(s3: S3Client, url: string): Promise<unknown[]> {
  return decodeAll(await getUrl(s3, url), { name: url });
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}
