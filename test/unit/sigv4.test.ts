import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, createHmac, Hash, Hmac } from 'node:crypto';
import { RequestSigner } from '../../src/storage/sigv4';

/** The SDK's hash interface over node:crypto (an HMAC when given a key). */
class Sha256 {
  private readonly h: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.h.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.h.digest();
  }
  reset(): void {
    throw new Error('not supported');
  }
}
function bytes(x: string | ArrayBuffer | ArrayBufferView): string | Buffer {
  if (typeof x === 'string') return x;
  return ArrayBuffer.isView(x) ? Buffer.from(x.buffer, x.byteOffset, x.byteLength) : Buffer.from(x);
}
/** The direct path's signer must give the very signature the SDK's signer gives, for every request shape it sends. */
const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const smithy = new SignatureV4({ credentials: creds, region: 'eu-west-1', service: 's3', sha256: Sha256, uriEscapePath: false, applyChecksum: true });
const ours = new RequestSigner(creds.accessKeyId, creds.secretAccessKey, 'eu-west-1');
const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

async function both(method: string, path: string, headers: Record<string, string>, when: Date) {
  const signed = await smithy.sign({ method, protocol: 'http:', hostname: '127.0.0.1', port: 7070, path, query: {}, headers: { ...headers } }, { signingDate: when });
  return { sdk: signed.headers.authorization, ours: ours.sign(method, path, headers, when).authorization };
}

describe('RequestSigner', () => {
  const when = new Date('2026-11-23T03:04:05.678Z');
  const cases: [string, string, Record<string, string>][] = [
    ['HEAD', '/bucket/a/b.avro', { host: '127.0.0.1:7070', 'x-amz-content-sha256': EMPTY }],
    ['GET', '/bucket/in/m-00001.avro', { host: '127.0.0.1:7070', 'x-amz-content-sha256': EMPTY, range: 'bytes=100-', 'if-match': '"0a1b2c"' }],
    ['GET', '/bucket/caf%C3%A9/with%20space/%21%27%28%29%2A.json', { host: '127.0.0.1:7070', 'x-amz-content-sha256': EMPTY }],
    ['PUT', '/bucket/out/p-0123456789ab/1-abc.json', {
      host: '127.0.0.1:7070', 'x-amz-content-sha256': 'f'.repeat(64), 'content-length': '1234', 'content-type': 'application/json', 'if-none-match': '*',
    }],
    ['PUT', '/prefix/bucket/k', { host: 's3.example.com', 'x-amz-content-sha256': EMPTY, 'content-length': '0', 'Content-Type': '  text/plain;   charset=utf-8 ' }],
  ];
  it.each(cases)('signs %s %s as the SDK does', async (method, path, headers) => {
    const r = await both(method, path, headers, when);
    expect(r.ours).toBe(r.sdk);
    expect(r.ours).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20261123\/eu-west-1\/s3\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/);
  });

  it('derives a new signing key when the day changes', async () => {
    const h = { host: 'h', 'x-amz-content-sha256': EMPTY };
    for (const d of ['2026-11-23T23:59:59Z', '2026-11-24T00:00:01Z', '2026-11-23T12:00:00Z']) {
      const r = await both('GET', '/b/k', h, new Date(d));
      expect(r.ours).toBe(r.sdk);
    }
  });

  it('with a session token, sends it as x-amz-security-token and signs it, as the SDK does', async () => {
    const withToken = { ...creds, sessionToken: 'FwoGZXIvYXdzEXAMPLETOKEN//+=' };
    const sdk = new SignatureV4({ credentials: withToken, region: 'eu-west-1', service: 's3', sha256: Sha256, uriEscapePath: false, applyChecksum: true });
    const signer = new RequestSigner(creds.accessKeyId, creds.secretAccessKey, 'eu-west-1', 's3', withToken.sessionToken);
    for (const [method, path, headers] of cases) {
      const expected = await sdk.sign({ method, protocol: 'http:', hostname: '127.0.0.1', port: 7070, path, query: {}, headers: { ...headers } }, { signingDate: when });
      const got = signer.sign(method, path, headers, when);
      expect(got['x-amz-security-token']).toBe(withToken.sessionToken);
      expect(expected.headers['x-amz-security-token']).toBe(withToken.sessionToken);
      expect(got.authorization).toMatch(/SignedHeaders=[a-z0-9;-]*x-amz-security-token/);
      expect(got.authorization).toBe(expected.headers.authorization);
    }
  });

  it('adds x-amz-date and leaves the headers given unchanged', () => {
    const h = { host: 'h', 'x-amz-content-sha256': EMPTY };
    const out = ours.sign('GET', '/b/k', h, when);
    expect(out['x-amz-date']).toBe('20261123T030405Z');
    expect(h).toEqual({ host: 'h', 'x-amz-content-sha256': EMPTY });
  });
});
