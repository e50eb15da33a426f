import { S3Client } from '@aws-sdk/client-s3';
import { ensureBucket } from '../../src/stack/embedded';
import { createS3Client, directOf, s3Client } from '../../src/storage/client';
import { PreconditionFailedError, putIfAbsent, putObject } from '../../src/storage/objects';
import { testConfig } from '../helpers/stack';

// A 409 to a create-only write is not "the object exists": versitygw's posix backend answers
// 409 ExistingObjectIsDirectory for a key that is a directory on its disk (another object's prefix).
const BUCKET = 'it-conflicts';
const cfg = testConfig('conflicts', BUCKET);
let sdk: S3Client;
let shared: S3Client;
let n = 0;

beforeAll(async () => {
  sdk = createS3Client(cfg.s3);
  shared = s3Client(cfg.s3);
  await ensureBucket(sdk, BUCKET);
});

afterAll(() => sdk.destroy());

afterEach(() => {
  delete process.env.PARTFLOW_CONDITIONAL_WRITES;
});

describe('a 409 to a create-only write', () => {
  it.each([['the SDK', () => sdk], ['the direct path', () => shared]])('by %s is said with S3\'s code and the object, not as "already exists"', async (_, client) => {
    process.env.PARTFLOW_CONDITIONAL_WRITES = 'on';
    const s3 = client();
    if (client() === shared) expect(directOf(s3)).toBeDefined();
    const dir = `c${process.pid}-${++n}/a/b`;
    await putObject(s3, BUCKET, `${dir}/c`, 'inside');
    const err = await putIfAbsent(s3, BUCKET, dir, 'over a directory').then(() => undefined, (e: unknown) => e as Error);
    expect(err).toBeDefined();
    expect(err).not.toBeInstanceOf(PreconditionFailedError);
    expect(err!.name).toBe('ExistingObjectIsDirectory');
    expect(err!.message).toContain(`s3://${BUCKET}/${dir}:`);
    expect(err!.message).toContain('409 ExistingObjectIsDirectory');
  });

  it('a 412 still means "exists"', async () => {
    process.env.PARTFLOW_CONDITIONAL_WRITES = 'on';
    const key = `e${process.pid}-${++n}/d`;
    await putIfAbsent(sdk, BUCKET, key, 'one');
    await expect(putIfAbsent(sdk, BUCKET, key, 'two')).rejects.toBeInstanceOf(PreconditionFailedError);
    await expect(putIfAbsent(shared, BUCKET, key, 'two')).rejects.toBeInstanceOf(PreconditionFailedError);
  });
});
