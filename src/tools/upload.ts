import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import pLimit from 'p-limit';
import { configOf, describeEndpoint } from '../storage/client';
import { describeCredentials, S3CredentialsError, S3SetupError } from '../storage/failures';
import { formatS3Url, parseS3Url } from '../storage/s3url';

/** One PUT holds at most 5 GiB; bigger files need a multipart upload (the aws CLI does those). */
const MAX_SINGLE_PUT = 5 * 1024 ** 3;

export interface UploadedFile {
  file: string;
  url: string;
  bytes: number;
}

/** The files under `from` (itself, if a file): absolute path, key suffix, size; dot-files and dot-folders are left out. */
function filesOf(from: string): { single: boolean; files: [string, string, number][] } {
  const root = path.resolve(from);
  const st = fs.statSync(root, { throwIfNoEntry: false });
  if (!st) throw new Error(`${from}: no such file or folder`);
  if (st.isFile()) return { single: true, files: [[root, path.basename(root), st.size]] };
  const files: [string, string, number][] = [];
  const walk = (dir: string, rel: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name.startsWith('.')) continue;
      const abs = path.join(dir, e.name);
      if (e.isDirectory()) walk(abs, `${rel}${e.name}/`);
      else if (e.isFile()) files.push([abs, `${rel}${e.name}`, fs.statSync(abs).size]);
    }
  };
  walk(root, '');
  return { single: false, files };
}

/**
 * Copies local files into S3 as they are (no conversion: that is `import`), so an ingest can read
 * them: a file to `to` (or under it, when `to` ends with "/"), a folder's files under the prefix
 * `to` with their relative paths. Objects of the same keys are replaced.
 */
export async function uploadFiles(s3: S3Client, from: string, to: string, onFile?: (f: UploadedFile) => void): Promise<UploadedFile[]> {
  const { single, files } = filesOf(from);
  if (files.length === 0) throw new Error(`${from}: no files to upload (dot-files are left out)`);
  const tooBig = files.find(([, , size]) => size > MAX_SINGLE_PUT);
  if (tooBig) throw new Error(`${tooBig[0]} is over 5 GiB, more than one PUT can hold: upload it with a multipart client (aws s3 cp --endpoint-url …)`);
  const dest = parseS3Url(to, { prefix: !single || to.endsWith('/') });
  // One file to a URL that is not a prefix goes to that very key.
  const exactKey = single && !to.endsWith('/') && dest.key !== '';
  const limit = pLimit(4);
  return Promise.all(files.map(([file, rel, bytes]) => limit(async () => {
    const key = exactKey ? dest.key : `${dest.key}${rel}`;
    const url = formatS3Url({ bucket: dest.bucket, key });
    try {
      await s3.send(new PutObjectCommand({ Bucket: dest.bucket, Key: key, Body: fs.createReadStream(file), ContentLength: bytes }));
    } catch (err) {
      const why = isReset(err) ? await askWhy(s3, dest.bucket, key, err) : err;
      // A missing bucket goes up as it is: the CLI names the bucket and the endpoint (explainError).
      if ((why as Error).name === 'NoSuchBucket') throw why;
      // The file and its URL are named here: a set-up failure's reason need not name its request too.
      throw new Error(`uploading ${file} to ${url}: ${why instanceof S3SetupError ? why.reason : (why as Error).message}`);
    }
    const done = { file, url, bytes };
    onFile?.(done);
    return done;
  })));
}

function isReset(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === 'ECONNRESET' || e?.code === 'EPIPE' || /\b(ECONNRESET|EPIPE)\b/.test(e?.message ?? '');
}

/**
 * A server that refuses a PUT (unknown keys, say) may answer before reading the body and close
 * the connection; the client, still sending the file, sees only "write ECONNRESET". A GET of the
 * same key, which has no body, gets the server's own answer: refused credentials or no bucket are
 * reported instead. Otherwise the reset stays, with the endpoint and what to check.
 */
async function askWhy(s3: S3Client, bucket: string, key: string, reset: unknown): Promise<unknown> {
  try {
    ((await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body as Readable | undefined)?.destroy();
  } catch (err) {
    // AccessDenied on a GET says nothing of a PUT: credentials may be write-only.
    if ((err instanceof S3CredentialsError && err.name !== 'AccessDenied') || (err as Error).name === 'NoSuchBucket') return err;
  }
  const cfg = configOf(s3);
  return new Error(`the S3 server at ${await describeEndpoint(s3)} closed the connection while the file was being sent (${(reset as Error).message}); `
    + `servers do that when they refuse a request before reading its body, most often for credentials they do not accept: check them${cfg ? ` (${describeCredentials(cfg)})` : ''}`);
}
