import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { cachedLookup } from '../../src/io/lookup';
import { isPartitionError, PartitionError } from '../../src/pipeline/types';
import { ensureBucket } from '../../src/stack/embedded';
import { s3Client } from '../../src/storage/client';
import { headObject } from '../../src/storage/objects';
import { testConfig } from '../helpers/stack';

/** Lookup tables on the real S3 server: loaded once per worker and ETag, shared read-only. */
const BUCKET = 'it-lookup-cache';
const cfg = testConfig('lookup-cache', BUCKET);
let s3: S3Client;

async function put(key: string, body: string): Promise<{ bucket: string; key: string; etag: string; format: string }> {
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  return { bucket: BUCKET, key, etag: (await headObject(s3, BUCKET, key)).etag, format: 'csv' };
}

beforeAll(async () => {
  s3 = s3Client(cfg.s3);
  await ensureBucket(s3, BUCKET);
});

describe('cachedLookup', () => {
  it('loads a table once for every partition of the worker, and freezes it', async () => {
    const l = await put('ref/codes.csv', 'code,name\nA,alpha\nB,beta\n');
    const [first, second] = await Promise.all([cachedLookup(s3, l), cachedLookup(s3, l)]);
    expect(second).toBe(first);
    expect(await cachedLookup(s3, l)).toBe(first);
    expect(first).toEqual([{ code: 'A', name: 'alpha' }, { code: 'B', name: 'beta' }]);
    expect(() => { (first[0] as Record<string, unknown>).name = 'changed'; }).toThrow(TypeError);
    expect(() => { (first as Record<string, unknown>[]).push({}); }).toThrow(TypeError);
    expect(first[0].name).toBe('alpha');
  });

  it('loads a new version of the table (a new ETag) afresh', async () => {
    const before = await cachedLookup(s3, await put('ref/rates.csv', 'c,r\nEUR,1\n'));
    const after = await cachedLookup(s3, await put('ref/rates.csv', 'c,r\nEUR,2\n'));
    expect(before).toEqual([{ c: 'EUR', r: '1' }]);
    expect(after).toEqual([{ c: 'EUR', r: '2' }]);
  });

  it('does not keep a failed load: the next partition tries again', async () => {
    const l = { bucket: BUCKET, key: 'ref/later.csv', etag: 'not-yet', format: 'csv' };
    await expect(cachedLookup(s3, l)).rejects.toThrow();
    const real = await put('ref/later.csv', 'k\nv\n');
    await expect(cachedLookup(s3, { ...l, etag: real.etag })).resolves.toEqual([{ k: 'v' }]);
    // The failed entry under the old ETag is gone too: asking again reads S3 again (and fails on If-Match).
    await expect(cachedLookup(s3, l)).rejects.toThrow();
  });

  it('a table that cannot be read as its format fails for good, naming it and the cause; a missing one stays retryable', async () => {
    const bad = await put('ref/bad.csv', 'name,"country,vip\nx,y\n');
    const err = await cachedLookup(s3, bad).then(() => undefined, (e: unknown) => e);
    expect(isPartitionError(err)).toBe(true);
    expect((err as PartitionError).retryable).toBe(false);
    expect((err as Error).message).toMatch(/^s3:\/\/it-lookup-cache\/ref\/bad\.csv cannot be read as CSV: Quote Not Closed/);
    const jsonl = { ...(await put('ref/bad.jsonl', '{"a":1}\n{oops\n')), format: 'jsonl' };
    await expect(cachedLookup(s3, jsonl)).rejects.toThrow(/^s3:\/\/it-lookup-cache\/ref\/bad\.jsonl cannot be read as JSONL: line 2: /);
    const gone = await cachedLookup(s3, { bucket: BUCKET, key: 'ref/none.csv', etag: 'x', format: 'csv' }).then(() => undefined, (e: unknown) => e);
    expect(isPartitionError(gone)).toBe(false);
  });
});
