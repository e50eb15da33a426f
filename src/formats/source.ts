import { S3Client } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { getObjectStream } from '../storage/objects';
import { formatS3Url } from '../storage/s3url';
import { FlatFileError } from './errors';

/** `.csv.gz`, `.jsonl.gz`, `.json.gz`: gzip-compressed flat files, read by name. */
export function isGzipKey(key: string): boolean {
  return /\.gz$/i.test(key);
}

/** While skipping decompressed bytes, how often the caller hears about it (to heartbeat). */
const SKIP_TICK_BYTES = 8 * 1024 * 1024;

/**
 * The flat source's bytes [start, end) (end undefined: to the end), decompressed. Plain objects
 * are range-read. A gzip stream cannot be entered in the middle, so a `.gz` object is read from
 * its start and decompressed, and the bytes before `start` are thrown away as they come:
 * positions are offsets in the decompressed stream. `onSkip` is called every few MB of that
 * skipping so that the caller can heartbeat through a long one.
 */
export async function openFlatSource(
  s3: S3Client, bucket: string, key: string, range?: { start: number; end?: number }, etag?: string, onSkip?: (bytes: number) => void,
): Promise<Readable> {
  if (!isGzipKey(key)) return getObjectStream(s3, bucket, key, range, etag);
  const compressed = await getObjectStream(s3, bucket, key, undefined, etag);
  return gunzipRange(formatS3Url({ bucket, key }), compressed, range?.start ?? 0, range?.end, onSkip);
}

/** Decompresses `compressed` and passes on only the decompressed bytes [start, end). */
export function gunzipRange(name: string, compressed: Readable, start: number, end?: number, onSkip?: (bytes: number) => void): Readable {
  const gunzip = createGunzip();
  compressed.on('error', (e) => gunzip.destroy(e));
  compressed.pipe(gunzip);
  async function* window(): AsyncGenerator<Buffer> {
    let pos = 0;
    let tick = SKIP_TICK_BYTES;
    try {
      for await (const c of gunzip) {
        const b = c as Buffer;
        const from = Math.max(0, start - pos);
        const to = end === undefined ? b.length : Math.min(b.length, end - pos);
        pos += b.length;
        if (from < to) yield b.subarray(from, to);
        else if (pos < start && pos >= tick) {
          tick = pos + SKIP_TICK_BYTES;
          onSkip?.(pos);
        }
        // Stop decompressing (and downloading) once the range is complete.
        if (end !== undefined && pos >= end) return;
      }
    } catch (err) {
      // zlib's errors carry a Z_* code; anything else (the download) passes through as it is.
      if (/^Z_/.test(String((err as { code?: unknown }).code))) {
        throw new FlatFileError(name, `not a valid gzip stream after ${pos} decompressed bytes: ${(err as Error).message}`);
      }
      throw err;
    } finally {
      gunzip.destroy();
      compressed.destroy();
    }
  }
  return Readable.from(window(), { objectMode: false });
}
