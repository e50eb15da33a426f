import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { HttpRequest } from '@smithy/types';
import { Readable } from 'node:stream';
import { ensureBucket } from '../../src/stack/embedded';
import { createS3Client, s3Client } from '../../src/storage/client';
import { conditionalWrites, probePrefixFor } from '../../src/storage/conditional';
import { MIN_PART_SIZE, MultipartWriter } from '../../src/storage/multipart';
import { PreconditionFailedError, putIfAbsent } from '../../src/storage/objects';
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
