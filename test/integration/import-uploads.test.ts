import {
  CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, ListMultipartUploadsCommand, PutObjectCommand, S3Client, UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { ensureBucket } from '../../src/stack/embedded';
import { createS3Client } from '../../src/storage/client';
import { importFlatFiles } from '../../src/tools/import';
import { testConfig } from '../helpers/stack';

// `partflow import` has no later attempt to resume its uploads: one that fails must abort them.
const BUCKET = 'it-import-uploads';
const cfg = testConfig('import-uploads', BUCKET);
const SOURCE = 'src/rows.csv';
let s3: S3Client;
let send: S3Client['send'];
/** Answers a command instead of the server when it returns a promise. */
let fault: ((cmd: unknown) => Promise<unknown> | undefined) | undefined;
/** Keys whose multipart upload was created, so that a test knows it had uploads to leak. */
let created: string[] = [];

beforeAll(async () => {
  // S3's smallest part, so that the output below goes up in more than one.
  process.env.PARTFLOW_PART_SIZE = String(5 * 1024 * 1024);
  s3 = createS3Client(cfg.s3);
  send = s3.send.bind(s3) as S3Client['send'];
  (s3 as unknown as { send: (cmd: unknown) => Promise<unknown> }).send = (cmd) => {
    if (cmd instanceof CreateMultipartUploadCommand) created.push(cmd.input.Key!);
    return fault?.(cmd) ?? (send as (c: unknown) => Promise<unknown>)(cmd);
  };
  await ensureBucket(s3, BUCKET);
  // Interleaved good rows (7.7 MB of output) and rows with a field too many (more rejects):
  // both objects take more than one 5 MiB part.
  const rows = ['id,text'];
  for (let i = 0; i < 70_000; i++) rows.push(`${2 * i},${'g'.repeat(100)}`, `${2 * i + 1},${'b'.repeat(100)},extra`);
  await send(new PutObjectCommand({ Bucket: BUCKET, Key: SOURCE, Body: Buffer.from(`${rows.join('\n')}\n`) }));
}, 60_000);

afterAll(() => {
  delete process.env.PARTFLOW_PART_SIZE;
  s3.destroy();
});

beforeEach(() => {
  created = [];
  fault = undefined;
});

/** A body that gives its first `bytes` bytes and then fails as a dropped connection would. */
function cutAfter(body: Readable, bytes: number): Readable {
  return Readable.from((async function* () {
    let n = 0;
    for await (const c of body) {
      n += (c as Buffer).length;
      if (n > bytes) throw new Error('connection reset (injected)');
      yield c as Buffer;
    }
  })());
}

const isOutput = (key: string | undefined) => /part-00000\.avro$/.test(key ?? '') && !key!.includes('_rejects/');

it.each([
  ['reading the source', (cmd: unknown) => (cmd instanceof GetObjectCommand && /^bytes=[1-9]/.test(cmd.input.Range ?? '')
    ? (send as (c: unknown) => Promise<{ Body: Readable }>)(cmd).then((res) => ({ ...res, Body: cutAfter(res.Body, 12_000_000) }))
    : undefined)],
  ['uploading a part of the output', (cmd: unknown) => (cmd instanceof UploadPartCommand && isOutput(cmd.input.Key)
    ? Promise.reject(new Error('connection reset (injected)')) : undefined)],
  ['completing the output', (cmd: unknown) => (cmd instanceof CompleteMultipartUploadCommand && isOutput(cmd.input.Key)
    ? Promise.reject(new Error('connection reset (injected)')) : undefined)],
])('an import that fails %s leaves no multipart upload behind', async (what, inject) => {
  const to = `out-${what.replace(/ /g, '-')}/`;
  fault = inject;
  await expect(importFlatFiles(s3, { from: `s3://${BUCKET}/${SOURCE}`, to: `s3://${BUCKET}/${to}`, partitionRecords: 1_000_000, codec: 'null' }))
    .rejects.toThrow('connection reset (injected)');
  fault = undefined;
  // Both the output and the rejects had an upload under way when the import failed.
  expect(created.map((k) => k.slice(to.length)).sort()).toEqual(['_rejects/part-00000.avro', 'part-00000.avro']);
  const left = await send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: to }));
  expect((left.Uploads ?? []).map((u) => u.Key)).toEqual([]);
}, 120_000);
