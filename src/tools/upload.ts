import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import fs from 'node:fs';
import path from 'node:path';
import pLimit from 'p-limit';
import { formatS3Url, parseS3Url } from '../storage/s3url';

/** One PUT holds at most 5 GiB; bigger files need a multipart upload (the aws CLI does those). */
const MAX_SINGLE_PUT = 5 * 1024 ** 3;

export interface UploadedFile {
  file: string;
  url: string;
  bytes: number;
}

/** The files under `from` (itself, if a file), as [absolute path, key suffix]; dot-files and dot-folders are left out. */
function filesOf(from: string): [string, string][] {
  const root = path.resolve(from);
  const st = fs.statSync(root, { throwIfNoEntry: false });
  if (!st) throw new Error(`${from}: no such file or folder`);
  if (st.isFile()) return [[root, path.basename(root)]];
  const out: [string, string][] = [];
  const walk = (dir: string, rel: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name.startsWith('.')) continue;
      const abs = path.join(dir, e.name);
      if (e.isDirectory()) walk(abs, `${rel}${e.name}/`);
      else if (e.isFile()) out.push([abs, `${rel}${e.name}`]);
    }
  };
  walk(root, '');
  return out;
}

/**
 * Copies local files into S3 as they are (no conversion: that is `import`), so an ingest can read
 * them: a file to `to` (or under it, when `to` ends with "/"), a folder's files under the prefix
 * `to` with their relative paths. Objects of the same keys are replaced.
 */
export async function uploadFiles(s3: S3Client, from: string, to: string, onFile?: (f: UploadedFile) => void): Promise<UploadedFile[]> {
  const files = filesOf(from);
  const single = files.length === 1 && fs.statSync(path.resolve(from)).isFile();
  const dest = parseS3Url(to, { prefix: !single || to.endsWith('/') });
  if (files.length === 0) throw new Error(`${from}: no files to upload (dot-files are left out)`);
  const tooBig = files.find(([f]) => fs.statSync(f).size > MAX_SINGLE_PUT);
  if (tooBig) throw new Error(`${tooBig[0]} is over 5 GiB, more than one PUT can hold: upload it with a multipart client (aws s3 cp --endpoint-url …)`);
  const limit = pLimit(4);
  return Promise.all(files.map(([file, rel]) => limit(async () => {
    const key = single && !to.endsWith('/') && dest.key !== '' ? dest.key : `${dest.key}${rel}`;
    const bytes = fs.statSync(file).size;
    try {
      await s3.send(new PutObjectCommand({ Bucket: dest.bucket, Key: key, Body: fs.createReadStream(file), ContentLength: bytes }));
    } catch (err) {
      const name = (err as Error).name;
      if (name === 'NoSuchBucket') throw new Error(`bucket "${dest.bucket}" does not exist on this S3 endpoint (create it first; the embedded stack has "partflow")`);
      throw new Error(`uploading ${file} to ${formatS3Url({ bucket: dest.bucket, key })}: ${(err as Error).message}`);
    }
    const done = { file, url: formatS3Url({ bucket: dest.bucket, key }), bytes };
    onFile?.(done);
    return done;
  })));
}
