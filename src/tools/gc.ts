import { AbortMultipartUploadCommand, ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';

export interface StaleUpload {
  key: string;
  uploadId: string;
  initiated: Date;
}

/**
 * Multipart uploads older than `olderThanMs` under a prefix: what failed attempts left behind.
 * A running attempt's upload is younger than its activity timeout, so a threshold above that
 * (the default is a day) never touches live work. The prefix is matched here, and sent to the
 * server only when `serverPrefix` says it filters by prefix as AWS does: MinIO's
 * ListMultipartUploads takes a prefix only as a whole object key, and lists nothing for
 * `datasets/`. On AWS, a bucket's other uploads then need not be listed page by page.
 */
export async function staleUploads(s3: S3Client, bucket: string, prefix: string, olderThanMs: number, o: { now?: number; serverPrefix?: boolean } = {}): Promise<StaleUpload[]> {
  const now = o.now ?? Date.now();
  const Prefix = o.serverPrefix && prefix ? prefix : undefined;
  const out: StaleUpload[] = [];
  let KeyMarker: string | undefined;
  let UploadIdMarker: string | undefined;
  for (;;) {
    const res = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix, KeyMarker, UploadIdMarker }));
    for (const u of res.Uploads ?? []) {
      if (!u.Key || !u.UploadId || !u.Key.startsWith(prefix)) continue;
      const initiated = u.Initiated ?? new Date(0);
      if (now - initiated.getTime() >= olderThanMs) out.push({ key: u.Key, uploadId: u.UploadId, initiated });
    }
    if (!res.IsTruncated) return out;
    KeyMarker = res.NextKeyMarker;
    UploadIdMarker = res.NextUploadIdMarker;
  }
}

export async function abortUploads(s3: S3Client, bucket: string, uploads: StaleUpload[]): Promise<number> {
  let n = 0;
  for (const u of uploads) {
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.key, UploadId: u.uploadId }));
    n++;
  }
  return n;
}
