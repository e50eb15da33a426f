import {
  AbortMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, S3Client, UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { HttpRequest } from '@smithy/types';
import { Readable } from 'node:stream';
import { ensureBucket } from '../../src/stack/embedded';
import { createS3Client, s3Client } from '../../src/storage/client';
import { conditionalWrites, probePrefixFor } from '../../src/storage/conditional';
import { listUploadedParts, MIN_PART_SIZE, MultipartState, MultipartWriter, UploadedPart } from '../../src/storage/multipart';
import { openAvroObject } from '../../src/io/avro-object-reader';
import { getObjectBuffer, PreconditionFailedError, putIfAbsent, putObject } from '../../src/storage/objects';
import { startHarness, testConfig } from '../helpers/stack';

/**
 * src/storage against the real versitygw, seen through the wire: an SDK middleware on a real
 * client records every HTTP request it sends (after retries and signing), and can answer chosen
 * requests with a 503 before they leave, to stand in for a flaky store.
 */
const BUCKET = 'it-storage';
const cfg = testConfig('storage', BUCKET);
let run = 0;
const unique = (what: string) => `${what}-${process.pid}-${++run}`;

interface Sent { command: string; method: string; path: string; query: Record<string, unknown>; headers: Record<string, string> }

interface Recorder {
  s3: S3Client;
  sent: Sent[];
  /** Answer the next `calls` SDK calls of this command with 503 on every attempt. */
  fail(command: string, calls: number): void;
}

function recordingClient(): Recorder {
  const s3 = createS3Client(cfg.s3);
  const sent: Sent[] = [];
  const failing = new Map<string, number>();
  // Outermost: decide once per SDK call (all its retries) whether the call fails.
  s3.middlewareStack.add((next, context) => async (args) => {
    const left = failing.get(context.commandName ?? '') ?? 0;
    if (left > 0) {
      failing.set(context.commandName ?? '', left - 1);
      context.injected503 = true;
    }
    return next(args);
  }, { step: 'initialize', priority: 'high', name: 'decide503' });
  // Innermost: sees each request as it would go on the wire.
  s3.middlewareStack.add((next, context) => async (args) => {
    const r = args.request as HttpRequest;
    sent.push({ command: context.commandName ?? '', method: r.method, path: r.path, query: { ...r.query }, headers: { ...r.headers } });
    if (context.injected503) {
      const body = Readable.from([Buffer.from('<Error><Code>ServiceUnavailable</Code><Message>injected by the test</Message></Error>')]);
      return { response: { statusCode: 503, reason: 'Service Unavailable', headers: {}, body }, output: undefined as never };
    }
    return next(args);
  }, { step: 'deserialize', priority: 'low', name: 'record' });
  return { s3, sent, fail: (command, calls) => failing.set(command, calls) };
}

const header = (s: Sent, name: string) => Object.entries(s.headers).find(([k]) => k.toLowerCase() === name)?.[1];

async function body(s3: S3Client, key: string): Promise<Buffer> {
  const res = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

/** One full part and a tail: CreateMultipartUpload, two UploadParts, CompleteMultipartUpload. */
async function multipartWrite(s3: S3Client, key: string, fill: number): Promise<Buffer> {
  const data = Buffer.concat([Buffer.alloc(MIN_PART_SIZE, fill), Buffer.from('tail')]);
  const w = new MultipartWriter(s3, BUCKET, key, { partSize: MIN_PART_SIZE });
  await w.write(data.subarray(0, MIN_PART_SIZE));
  await w.write(data.subarray(MIN_PART_SIZE));
  await w.complete();
  return data;
}

const recorders: Recorder[] = [];
function recorder(): Recorder {
  const r = recordingClient();
  recorders.push(r);
  return r;
}

beforeAll(async () => {
  await ensureBucket(s3Client(cfg.s3), BUCKET);
});

afterAll(() => {
  for (const r of recorders) r.s3.destroy();
});

afterEach(() => {
  delete process.env.PARTFLOW_CONDITIONAL_WRITES;
});

describe('PARTFLOW_CONDITIONAL_WRITES', () => {
  it.each([['off', false], ['on', true]])('=%s: If-None-Match on every create-only write only when on', async (mode, sends) => {
    process.env.PARTFLOW_CONDITIONAL_WRITES = mode;
    const r = recorder();
    const prefix = unique(`cw-${mode}`);
    await multipartWrite(r.s3, `${prefix}/big.avro`, 1);
    const small = new MultipartWriter(r.s3, BUCKET, `${prefix}/small.avro`);
    await small.write(Buffer.from('small'));
    await small.complete();
    await putIfAbsent(r.s3, BUCKET, `${prefix}/_manifests/part-00000.json`, '{}');

    const writes = r.sent.filter((s) => s.command === 'CompleteMultipartUploadCommand' || s.command === 'PutObjectCommand');
    expect(writes.map((s) => s.command).sort()).toEqual(['CompleteMultipartUploadCommand', 'PutObjectCommand', 'PutObjectCommand']);
    for (const s of writes) expect([s.command, header(s, 'if-none-match')]).toEqual([s.command, sends ? '*' : undefined]);
    expect(r.sent.filter((s) => header(s, 'if-none-match') !== undefined).length).toBe(sends ? 3 : 0);
  });

  it('=off still never replaces an object: a second multipart write of the key is refused and aborted', async () => {
    process.env.PARTFLOW_CONDITIONAL_WRITES = 'off';
    const r = recorder();
    const key = `${unique('cw-off-twice')}/part-00000.avro`;
    const first = await multipartWrite(r.s3, key, 1);
    await expect(multipartWrite(r.s3, key, 2)).rejects.toBeInstanceOf(PreconditionFailedError);
    expect((await body(r.s3, key)).equals(first)).toBe(true);
    expect(r.sent.filter((s) => s.command === 'CompleteMultipartUploadCommand')).toHaveLength(1);
    expect(r.sent.filter((s) => s.command === 'AbortMultipartUploadCommand')).toHaveLength(1);
  });
});

describe('the conditional-write probe', () => {
  it('picks a place beside the partflow directory written to, never inside _manifests/ and co', () => {
    expect(probePrefixFor('datasets/birds/map/v1-ab/_manifests/part-00007.json')).toBe('datasets/birds/map/v1-ab/');
    expect(probePrefixFor('datasets/birds/map/v1-ab/part-00007.avro')).toBe('datasets/birds/map/v1-ab/');
    expect(probePrefixFor('datasets/birds/map/v1-ab/_rejects/part-00007.avro')).toBe('datasets/birds/map/v1-ab/');
    expect(probePrefixFor('datasets/birds/_plans/abc.json')).toBe('datasets/birds/');
    expect(probePrefixFor('datasets/birds/_runs/wf-1/run-1.json')).toBe('datasets/birds/');
    // An underscore higher up belongs to the user's target prefix and is kept.
    expect(probePrefixFor('_team/out/birds/raw/v1/part-00000.avro')).toBe('_team/out/birds/raw/v1/');
    expect(probePrefixFor('top.json')).toBe('');
  });

  const probes = (r: Recorder, bucket: string) => r.sent.filter((s) => s.command === 'PutObjectCommand' && s.path.startsWith(`/${bucket}/`));

  it('writes under the prefix it is given, not at the bucket root', async () => {
    process.env.PARTFLOW_CONDITIONAL_WRITES = 'auto';
    const r = recorder();
    const bucket = unique('probe-a');
    await ensureBucket(r.s3, bucket);
    await expect(conditionalWrites(r.s3, bucket, 'datasets/')).resolves.toBe(true);
    const p = probes(r, bucket);
    expect(p).toHaveLength(2);
    for (const s of p) expect(s.path).toMatch(new RegExp(`^/${bucket}/datasets/_partflow/probe/[0-9a-f-]{36}$`));
  });

  it('on a first commit, probes beside the object being committed', async () => {
    process.env.PARTFLOW_CONDITIONAL_WRITES = 'auto';
    const r = recorder();
    const bucket = unique('probe-b');
    await ensureBucket(r.s3, bucket);
    await putIfAbsent(r.s3, bucket, 'team/out/birds/map/v1/_manifests/part-00000.json', '{}');
    const p = probes(r, bucket).map((s) => s.path);
    expect(p).toHaveLength(3);
    expect(p[0]).toMatch(new RegExp(`^/${bucket}/team/out/birds/map/v1/_partflow/probe/[0-9a-f-]{36}$`));
    expect(p[1]).toBe(p[0]);
    expect(p[2]).toBe(`/${bucket}/team/out/birds/map/v1/_manifests/part-00000.json`);
  });

  it('at worker start, writes under the default target prefix of the configured bucket', async () => {
    process.env.PARTFLOW_CONDITIONAL_WRITES = 'auto';
    const bucket = unique('probe-w');
    const shared = s3Client(cfg.s3); // the client createWorker uses
    const paths: string[] = [];
    shared.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === 'PutObjectCommand') paths.push((args.request as HttpRequest).path);
      return next(args);
    }, { step: 'deserialize', priority: 'low', name: 'probeRecorder' });
    try {
      const h = await startHarness('probe', [], { bucket });
      await h.stop();
    } finally {
      shared.middlewareStack.remove('probeRecorder');
    }
    const ours = paths.filter((p) => p.startsWith(`/${bucket}/`));
    expect(ours).toHaveLength(2);
    for (const p of ours) expect(p).toMatch(new RegExp(`^/${bucket}/datasets/_partflow/probe/[0-9a-f-]{36}$`));
  });
});

async function uploadSmallParts(s3: S3Client, key: string, n: number): Promise<MultipartState> {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
  const parts: UploadedPart[] = [];
  for (let start = 1; start <= n; start += 50) {
    const batch = Array.from({ length: Math.min(50, n - start + 1) }, (_, i) => start + i);
    parts.push(...await Promise.all(batch.map(async (PartNumber) => {
      const Body = Buffer.from(`part ${PartNumber}`);
      const res = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber, Body }));
      return { PartNumber, ETag: res.ETag!, size: Body.length };
    })));
  }
  return { key, uploadId: UploadId, parts, bytesUploaded: parts.reduce((a, p) => a + p.size, 0) };
}

describe('resuming an upload', () => {
  it('checks every part of an upload of more than 1,000 parts (ListParts pages)', async () => {
    const s3 = s3Client(cfg.s3);
    const key = `${unique('many-parts')}/part-00000.avro`;
    const state = await uploadSmallParts(s3, key, 1001);
    try {
      expect(await new MultipartWriter(s3, BUCKET, key, { resume: state }).verifyResume()).toBe(true);
      // Part 1,001 is on the second page: a wrong ETag there must be seen.
      const wrong = { ...state, parts: state.parts.map((p) => (p.PartNumber === 1001 ? { ...p, ETag: '"0000"' } : p)) };
      expect(await new MultipartWriter(s3, BUCKET, key, { resume: wrong }).verifyResume()).toBe(false);
    } finally {
      await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: state.uploadId }));
    }
  });

  it('follows pages of any size', async () => {
    const r = recorder();
    const key = `${unique('pages')}/part-00000.avro`;
    const state = await uploadSmallParts(r.s3, key, 5);
    try {
      const parts = await listUploadedParts(r.s3, BUCKET, key, state.uploadId!, 2);
      expect([...parts.keys()]).toEqual([1, 2, 3, 4, 5]);
      expect([...parts.values()]).toEqual(state.parts.map((p) => p.ETag.replace(/"/g, '')));
      expect(r.sent.filter((s) => s.command === 'ListPartsCommand')).toHaveLength(3);
    } finally {
      await r.s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: state.uploadId }));
    }
  });

  async function interrupted(s3: S3Client, key: string): Promise<{ state: MultipartState; data: Buffer }> {
    const data = Buffer.concat([Buffer.alloc(MIN_PART_SIZE, 7), Buffer.from('the rest')]);
    const w = new MultipartWriter(s3, BUCKET, key, { partSize: MIN_PART_SIZE });
    expect(await w.write(data.subarray(0, MIN_PART_SIZE))).toBe(true);
    return { state: w.state(), data };
  }

  it('retries a check that fails transiently and finishes the same upload', async () => {
    const r = recorder();
    const key = `${unique('flaky-check')}/part-00000.avro`;
    const { state, data } = await interrupted(r.s3, key);
    r.fail('ListPartsCommand', 1); // one whole SDK call, every one of its own retries
    const resumed = new MultipartWriter(r.s3, BUCKET, key, { partSize: MIN_PART_SIZE, resume: state });
    expect(await resumed.verifyResume()).toBe(true);
    await resumed.write(data.subarray(MIN_PART_SIZE));
    await resumed.complete();

    const lists = r.sent.filter((s) => s.command === 'ListPartsCommand');
    expect(lists.length).toBeGreaterThan(1);
    expect(r.sent.filter((s) => s.command === 'CreateMultipartUploadCommand')).toHaveLength(1);
    const completes = r.sent.filter((s) => s.command === 'CompleteMultipartUploadCommand');
    expect(completes.map((s) => s.query.uploadId)).toEqual([state.uploadId]);
    expect((await body(r.s3, key)).equals(data)).toBe(true);
  });

  it('a check that keeps failing throws, naming the object and upload, rather than starting over', async () => {
    const r = recorder();
    const key = `${unique('broken-check')}/part-00000.avro`;
    const { state } = await interrupted(r.s3, key);
    r.fail('ListPartsCommand', 100);
    const resumed = new MultipartWriter(r.s3, BUCKET, key, { partSize: MIN_PART_SIZE, resume: state });
    await expect(resumed.verifyResume()).rejects.toThrow(
      new RegExp(`could not check multipart upload ${state.uploadId} of s3://${BUCKET}/${key} to resume it`),
    );
    // Bounded: three calls of four SDK attempts each.
    expect(r.sent.filter((s) => s.command === 'ListPartsCommand')).toHaveLength(12);
    r.fail('ListPartsCommand', 0);
    expect(await resumed.verifyResume()).toBe(true);
    await resumed.abort();
  });

  it('starts over when the upload is gone', async () => {
    const s3 = s3Client(cfg.s3);
    const key = `${unique('gone')}/part-00000.avro`;
    const { state } = await interrupted(s3, key);
    await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: state.uploadId }));
    expect(await new MultipartWriter(s3, BUCKET, key, { resume: state }).verifyResume()).toBe(false);
  });
});

describe('reads that stop early', () => {
  // The shared client has 64 keep-alive sockets per endpoint; an abandoned response holds one
  // until the 120 s idle timeout, so 80 of them would stall the 65th request for minutes.
  it('do not hold connections: 80 corrupt Avro objects in a row fail fast, and the store still answers', async () => {
    const s3 = s3Client(cfg.s3);
    const key = `${unique('corrupt')}/not-avro.avro`;
    await putObject(s3, BUCKET, key, Buffer.alloc(512 * 1024, 0x41), 'application/octet-stream');
    for (let i = 0; i < 80; i++) {
      await expect(openAvroObject(s3, BUCKET, key)).rejects.toThrow(`s3://${BUCKET}/${key}: not an Avro object container file: bad magic bytes 41414141`);
    }
    expect((await getObjectBuffer(s3, BUCKET, key)).length).toBe(512 * 1024);
  }, 60_000);
});
