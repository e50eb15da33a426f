import { S3Client } from '@aws-sdk/client-s3';
import { formatS3Url } from '../storage/s3url';
import { FlatFormat, ScanCheckpoint, ScanProgress, ScanResult, scanFlatFile } from './flat';
import { openFlatSource } from './source';

/** What scanning needs of a Temporal activity context (Context.current() fits). */
export interface ScanHeartbeat {
  info: { heartbeatDetails?: unknown };
  heartbeat(details?: unknown): void;
}

/** Heartbeat details while a source object is scanned. */
export interface ScanDetails {
  scanning: string;
  progress?: Omit<ScanProgress, 'checkpoint'>;
  /** The last chunk boundary of this object, for the next attempt. */
  scan?: ScanCheckpoint & { key: string; etag: string };
}

/**
 * Scans one flat source object in S3 (gzip or not) with heartbeats, carrying on from the
 * checkpoint the previous attempt's heartbeats left for this very object, so that a scan of a
 * multi-GB file survives heartbeat timeouts and worker restarts without starting over.
 */
export async function scanFlatObject(
  s3: S3Client, bucket: string, obj: { key: string; etag: string }, format: FlatFormat, perChunk: number, recordName: string, ctx?: ScanHeartbeat,
): Promise<ScanResult> {
  const name = formatS3Url({ bucket, key: obj.key });
  const prev = (ctx?.info.heartbeatDetails as ScanDetails | undefined)?.scan;
  const resume = prev && prev.key === obj.key && prev.etag === obj.etag && prev.format === format && prev.perChunk === perChunk
    ? (({ key: _k, etag: _e, ...cp }) => cp)(prev) : undefined;
  let details: ScanDetails = { scanning: name, ...(prev && resume ? { scan: prev } : {}) };
  const beat = () => ctx?.heartbeat(details);
  beat();
  const body = await openFlatSource(s3, bucket, obj.key, { start: resume?.offset ?? 0 }, obj.etag, beat);
  return scanFlatFile(name, format, body, perChunk, recordName, {
    resume,
    onProgress: ({ checkpoint, ...progress }) => {
      details = { scanning: name, progress, ...(checkpoint ? { scan: { ...checkpoint, key: obj.key, etag: obj.etag } } : {}) };
      beat();
    },
  });
}
