import { S3Client } from '@aws-sdk/client-s3';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { getObjectStream, headObject } from '../storage/objects';
import { formatS3Url, parseS3Url } from '../storage/s3url';

/** One object to read whole, from S3 or from this machine's disk. */
export interface ObjectSource {
  /** The s3:// URL, or the local file's path as given. */
  name: string;
  size: number;
  open(): Promise<Readable>;
}

/**
 * `cat` and `inspect` read an s3:// URL, or a local file (a path with no scheme), so that a file
 * can be checked before it is uploaded. Other schemes are refused by name rather than taken for
 * paths. `s3` is made only for an s3:// URL: a local file needs no S3 settings.
 */
export async function objectSource(target: string, s3: () => S3Client): Promise<ObjectSource> {
  if (hasScheme(target)) {
    const loc = parseS3Url(target);
    const head = await headObject(s3(), loc.bucket, loc.key);
    return { name: formatS3Url(loc), size: head.size, open: () => getObjectStream(s3(), loc.bucket, loc.key) };
  }
  if (target === '') throw new Error('expected an s3:// URL or a local file\'s path, got an empty string');
  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `no such file: ${target} (an s3:// URL or a local file's path)` : `cannot read ${target}: ${(err as Error).message}`);
  }
  if (stat.isDirectory()) throw new Error(`${target} is a directory; give one file (${path.join(target, '<name>.avro')}) or an s3:// URL`);
  return { name: target, size: stat.size, open: async () => fs.createReadStream(target) };
}

/** A URL (s3://, or a scheme partflow refuses by name) rather than a local path. */
export function hasScheme(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(target);
}
