import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { loadConfig } from '../../src/config';
import { ensureBucket } from '../../src/stack/embedded';
import { createS3Client, directOf, s3Client } from '../../src/storage/client';
import { directS3, S3HttpError } from '../../src/storage/direct';
import { freePort } from '../../src/stack/process';
import { getObjectBuffer, getObjectStream, headObject, isNotFound, objectExists, ObjectNotFoundError, PreconditionFailedError, putIfAbsent, putObject } from '../../src/storage/objects';
import { testConfig } from '../helpers/stack';

// Single-object GETs and PUTs of the shared client go around the SDK: they must mean on the
// wire what the SDK's would, on a real server.
const BUCKET = 'it-direct';
const cfg = testConfig('direct', BUCKET);
const testConfigWith = (env: Record<string, string>) => loadConfig({ AWS_ENDPOINT_URL_S3: cfg.s3.endpoint, ...env }).s3;
let sdk: S3Client;
let shared: S3Client;

async function text(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

beforeAll(async () => {
  sdk = createS3Client(cfg.s3);
  shared = s3Client(cfg.s3);
  await ensureBucket(sdk, BUCKET);
});

describe('the direct path of the shared S3 client', () => {
  it('is taken for the embedded store, and never for a client of createS3Client', () => {
    expect(directOf(shared)).toBeDefined();
    expect(directOf(sdk)).toBeUndefined();
    expect(directS3({ ...cfg.s3, accessKeyId: undefined, secretAccessKey: undefined })).toBeUndefined();
    expect(directS3({ ...cfg.s3, forcePathStyle: false })).toBeUndefined();
    expect(directS3({ ...cfg.s3, direct: false })).toBeUndefined();
    expect(testConfigWith({ PARTFLOW_S3_DIRECT: '0' }).direct).toBe(false);
    expect(() => testConfigWith({ PARTFLOW_S3_DIRECT: 'yes' })).toThrow('PARTFLOW_S3_DIRECT must be 1 (sign single-object requests without the AWS SDK) or 0, got "yes"');
  });

  it('writes and reads keys that need encoding, byte for byte as the SDK reads them', async () => {
    const keys = ['plain/a.json', 'sp ace/ü ñ 🐦.avro', "odd/!'()*+=&$@,;:?#[]~.bin", 'deep/a/b/c/%2F.txt'];
    for (const [i, key] of keys.entries()) {
      const body = Buffer.from(`body ${i} ${key}`);
      await putObject(shared, BUCKET, key, body, 'text/plain');
      const viaSdk = await sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      expect(viaSdk.ContentType).toBe('text/plain');
      expect(Buffer.from(await viaSdk.Body!.transformToByteArray())).toEqual(body);
      expect(await getObjectBuffer(shared, BUCKET, key)).toEqual(body);
    }
  });

  it('answers ranges, If-Match and a missing key as the SDK path does', async () => {
    await putObject(shared, BUCKET, 'range/x.txt', '0123456789');
    expect(await text(await getObjectStream(shared, BUCKET, 'range/x.txt', { start: 2, end: 5 }))).toBe('234');
    expect(await text(await getObjectStream(shared, BUCKET, 'range/x.txt', { start: 10 }))).toBe('');
    const err = await getObjectStream(shared, BUCKET, 'range/x.txt', undefined, '"not-the-etag"').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(S3HttpError);
    expect((err as S3HttpError).$metadata.httpStatusCode).toBe(412);
    expect((err as Error).message).toMatch(/^GET s3:\/\/it-direct\/range\/x\.txt: PreconditionFailed: .*\(HTTP 412\)$/);
    await expect(getObjectStream(shared, BUCKET, 'range/none.txt')).rejects.toBeInstanceOf(ObjectNotFoundError);
  });

  it('heads objects as the SDK does: size, ETag, and a missing key', async () => {
    const key = 'head/ü 🐦.bin';
    await putObject(shared, BUCKET, key, Buffer.alloc(1234, 7));
    const viaSdk = await headObject(sdk, BUCKET, key);
    expect(await headObject(shared, BUCKET, key)).toEqual(viaSdk);
    expect(viaSdk).toMatchObject({ key, size: 1234 });
    expect(viaSdk.etag).toMatch(/^[0-9a-f-]+$/);
    await expect(headObject(shared, BUCKET, 'head/none.bin')).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect(await objectExists(shared, BUCKET, 'head/none.bin')).toBe(false);
    expect(await objectExists(shared, BUCKET, key)).toBe(true);
    const denied = await directS3({ ...cfg.s3, secretAccessKey: 'not-the-secret' })!.head(BUCKET, key).catch((e: unknown) => e);
    expect((denied as S3HttpError).$metadata.httpStatusCode).toBe(403);
    expect((denied as Error).message).toMatch(/^HEAD s3:\/\/it-direct\/head\/.*\(HTTP 403\)$/);
  });

  it('create-only puts refuse a second write', async () => {
    await putIfAbsent(shared, BUCKET, 'once/m.json', '{"a":1}', 'application/json');
    await expect(putIfAbsent(shared, BUCKET, 'once/m.json', '{"a":2}', 'application/json')).rejects.toBeInstanceOf(PreconditionFailedError);
    expect((await getObjectBuffer(shared, BUCKET, 'once/m.json')).toString()).toBe('{"a":1}');
  });

  it('says what is wrong with bad keys at once, and gives up on an unreachable store after its retries', async () => {
    const wrong = directS3({ ...cfg.s3, secretAccessKey: 'not-the-secret' })!;
    const denied = await wrong.get(BUCKET, 'plain/a.json').catch((e: unknown) => e);
    expect((denied as S3HttpError).$metadata.httpStatusCode).toBe(403);
    expect((denied as Error).message).toMatch(/^GetObject s3:\/\/it-direct\/plain\/a\.json: S3 at http:\/\/127\.0\.0\.1:\d+ refused the credentials of access key ID partflow \(SignatureDoesNotMatch: .*\): /);
    expect(isNotFound(denied)).toBe(false);

    const nowhere = directS3({ ...cfg.s3, endpoint: `http://127.0.0.1:${await freePort()}` })!;
    const started = Date.now();
    await expect(nowhere.put(BUCKET, 'x', Buffer.from('x'))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
