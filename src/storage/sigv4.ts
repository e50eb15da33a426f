import { createHash, createHmac } from 'node:crypto';

/**
 * AWS Signature Version 4 for the direct path's requests (one object, path-style, no query),
 * synchronous and with the day's signing key kept. The SDK's signer does the same work through
 * promises and a key cache it looks up with an HMAC per request; on partitions of small objects
 * that was a measurable share of the worker's CPU. test/unit/sigv4.test.ts checks every request
 * shape against @smithy/signature-v4.
 */
export class RequestSigner {
  private day = '';
  private key: Buffer = Buffer.alloc(0);

  constructor(
    private readonly accessKeyId: string,
    private readonly secretAccessKey: string,
    private readonly region: string,
    private readonly service = 's3',
    /** Of temporary credentials: sent as x-amz-security-token and signed, as S3 requires. */
    private readonly sessionToken?: string,
  ) {}

  /**
   * The headers to send: `headers` (`host` and `x-amz-content-sha256` included), with
   * lower-case names, plus `x-amz-date`, `x-amz-security-token` with a session token, and `authorization`. `path` is the request path as sent, already
   * encoded. Every header given is signed.
   */
  sign(method: string, path: string, headers: Record<string, string>, now = new Date()): Record<string, string> {
    const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    const day = amzDate.slice(0, 8);
    const out: Record<string, string> = {};
    for (const [n, v] of Object.entries(headers)) out[n.toLowerCase()] = v;
    out['x-amz-date'] = amzDate;
    if (this.sessionToken) out['x-amz-security-token'] = this.sessionToken;
    const names = Object.keys(out).sort();
    let canonicalHeaders = '';
    for (const n of names) canonicalHeaders += `${n}:${String(out[n]).trim().replace(/\s+/g, ' ')}\n`;
    const signedHeaders = names.join(';');
    const canonical = `${method}\n${path}\n\n${canonicalHeaders}\n${signedHeaders}\n${out['x-amz-content-sha256']}`;
    const scope = `${day}/${this.region}/${this.service}/aws4_request`;
    const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${createHash('sha256').update(canonical).digest('hex')}`;
    const signature = createHmac('sha256', this.signingKey(day)).update(toSign).digest('hex');
    out.authorization = `AWS4-HMAC-SHA256 Credential=${this.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
    return out;
  }

  private signingKey(day: string): Buffer {
    if (day !== this.day) {
      const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
      this.key = hmac(hmac(hmac(hmac(`AWS4${this.secretAccessKey}`, day), this.region), this.service), 'aws4_request');
      this.day = day;
    }
    return this.key;
  }
}
