import http from 'node:http';
import { AddressInfo } from 'node:net';
import { S3Client } from '@aws-sdk/client-s3';
import { loadConfig } from '../../src/config';
import { createS3Client, directOf, s3Client } from '../../src/storage/client';
import { getObjectBuffer, getObjectStream, isTransient } from '../../src/storage/objects';
import { S3ReadError } from '../../src/storage/read-errors';

// A store whose connection breaks in the middle of an object's body: the error names the object
// and the endpoint, keeps its cause, and stays transient (the next attempt reads again).
let server: http.Server;
let endpoint: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-length': '100000', etag: '"e"', 'content-type': 'application/octet-stream' });
    res.write(Buffer.alloc(1000, 7), () => setTimeout(() => res.socket?.destroy(), 20));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

const cfg = () => loadConfig({ AWS_ENDPOINT_URL_S3: endpoint, AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's', AWS_REGION: 'us-east-1' }).s3;

describe('a connection that breaks while a body is read', () => {
  it.each([['the direct path', () => s3Client(cfg())], ['the SDK', () => createS3Client(cfg())]])('by %s fails naming the object and the endpoint, transient', async (path, make) => {
    const s3: S3Client = make();
    expect(directOf(s3) !== undefined).toBe(path === 'the direct path');
    const err = await getObjectBuffer(s3, 'bkt', 'raw/big.csv').then(() => undefined, (e: Error) => e);
    expect(err).toBeInstanceOf(S3ReadError);
    expect(err!.message).toMatch(new RegExp(`^reading s3://bkt/raw/big\\.csv from ${endpoint.replace(/\./g, '\\.')} broke off: .+; transient, retried$`));
    expect((err as Error & { cause?: Error }).cause?.message).toBe('aborted');
    expect((err as Error & { code?: string }).code).toBe('ECONNRESET');
    expect(isTransient(err)).toBe(true);
    s3.destroy();
  });

  it('leaves a reader\'s own error as it is', async () => {
    const s3 = s3Client(cfg());
    const body = await getObjectStream(s3, 'bkt', 'raw/big.csv');
    const mine = new Error('bad block');
    const got = new Promise<Error>((r) => body.once('error', r));
    body.destroy(mine);
    expect(await got).toBe(mine);
  });
});
