import { createHash } from 'node:crypto';
import http, { IncomingMessage } from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { S3Config } from '../config';
import { explainS3Failure } from './failures';
import { httpParseError, tlsMismatch } from './misdirected';
import { RequestSigner } from './sigv4';
import { S3_IDLE_TIMEOUT_MS, S3_MAX_ATTEMPTS, watchRequest } from './slow-requests';

/**
 * HEAD, GET and PUT of single objects, signed (SigV4) and sent over a keep-alive agent without the
 * AWS SDK. The SDK spends about 4-5 ms of CPU per request on its middleware, endpoint rules and
 * serde (measured against versitygw); a partition of small objects makes about four to six
 * such requests, so on small partitions that was most of a worker's CPU. Everything else (lists,
 * multipart, deletes, the conditional-write probe) stays on the SDK.
 *
 * Errors look like the SDK's: `name` is S3's error code, `$metadata.httpStatusCode` the status,
 * so callers treat both alike. Transient failures are retried as the SDK client is configured
 * to (4 attempts, capped exponential backoff with jitter).
 */
export interface DirectS3 {
  head(bucket: string, key: string): Promise<{ size: number; etag: string | undefined }>;
  get(bucket: string, key: string, headers?: Record<string, string>): Promise<Readable>;
  put(bucket: string, key: string, body: Buffer, headers?: Record<string, string>): Promise<void>;
}

type Method = 'HEAD' | 'GET' | 'PUT';
/** S3's names for the requests, as the SDK path's errors give them. */
const OPERATION: Record<Method, string> = { HEAD: 'HeadObject', GET: 'GetObject', PUT: 'PutObject' };

const MAX_ATTEMPTS = S3_MAX_ATTEMPTS;
const CONNECT_TIMEOUT_MS = 5_000;
const IDLE_TIMEOUT_MS = S3_IDLE_TIMEOUT_MS;
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export class S3HttpError extends Error {
  readonly $metadata: { httpStatusCode: number };
  /** S3's own words, "Code: Message". */
  readonly said: string;
  /** What the server answered, for telling an S3 error from some other server's (failures.ts). */
  readonly answer: HttpAnswer;
  /** S3's <Region> (MinIO's, with AuthorizationHeaderMalformed), as the SDK's errors carry it. */
  readonly Region?: string;
  /** S3's <Endpoint> (AWS's, with PermanentRedirect). */
  readonly Endpoint?: string;
  constructor(status: number, code: string, message: string, said = message, answer: HttpAnswer = { hasCode: true, headers: {} }, fields: { Region?: string; Endpoint?: string } = {}) {
    super(message);
    this.name = code;
    this.$metadata = { httpStatusCode: status };
    this.said = said;
    this.answer = answer;
    if (fields.Region) this.Region = fields.Region;
    if (fields.Endpoint) this.Endpoint = fields.Endpoint;
  }
}

/** The parts of an error answer that say whether it came from an S3 API at all. */
export interface HttpAnswer {
  /** Whether the body had an S3 <Code>; an S3 API's errors always do, but for a HEAD's (no body). */
  hasCode: boolean;
  /** The start of the body, for saying what some other server answered. */
  body?: string;
  /** content-type, location, and x-amz-bucket-region (AWS says where a bucket is, in a HEAD's answer too). */
  headers: Record<string, string | undefined>;
}

/** S3's key encoding: every byte but unreserved ones and "/" percent-encoded. */
function encodeKey(key: string): string {
  return key.split('/').map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)).join('/');
}

/** Coded as node's own network timeouts are, so callers that retry them see one. */
function timedOut(message: string): Error {
  return Object.assign(new Error(message), { code: 'ETIMEDOUT' });
}

function transient(err: unknown): boolean {
  if (err instanceof S3HttpError) return err.$metadata.httpStatusCode >= 500 || err.$metadata.httpStatusCode === 429 || err.$metadata.httpStatusCode === 408;
  // network: reset, refused, timeout, hang-up; but no retry makes an https:// request to a plain-HTTP
  // server work, or a port that speaks no HTTP/1.1 answer in it.
  return !tlsMismatch(err) && !httpParseError(err);
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** The text of an XML element: its standard entities decoded ("expecting &#39;eu-central-1&#39;" reads "expecting 'eu-central-1'"). */
export function xmlText(text: string): string {
  return text.replace(/&(?:#x([0-9a-fA-F]+)|#([0-9]+)|(amp|lt|gt|quot|apos));/g, (whole, hex: string | undefined, dec: string | undefined, name: string | undefined) => {
    if (name) return ENTITIES[name];
    const cp = hex ? parseInt(hex, 16) : Number(dec);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : whole;
  });
}

function element(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return m ? xmlText(m[1]) : undefined;
}

async function errorOf(res: IncomingMessage, what: string): Promise<S3HttpError> {
  const chunks: Buffer[] = [];
  for await (const c of res) if (chunks.length < 64) chunks.push(c as Buffer);
  const xml = Buffer.concat(chunks).toString('utf8');
  const status = res.statusCode ?? 0;
  const s3Code = element(xml, 'Code');
  const code = s3Code ?? (status === 404 ? 'NotFound' : `Http${status}`);
  const message = element(xml, 'Message') ?? (res.statusMessage || 'no message');
  const headers: Record<string, string | undefined> = {};
  for (const name of ['content-type', 'location', 'x-amz-bucket-region']) if (typeof res.headers[name] === 'string') headers[name] = res.headers[name] as string;
  const answer: HttpAnswer = { hasCode: s3Code !== undefined, body: xml.slice(0, 512), headers };
  return new S3HttpError(status, code, `${what}: ${code}: ${message} (HTTP ${status})`, `${code}: ${message}`, answer, { Region: element(xml, 'Region'), Endpoint: element(xml, 'Endpoint') });
}

/** The direct client for a configuration, or undefined where only the SDK can do it (credential chain, virtual-hosted buckets). */
export function directS3(cfg: S3Config): DirectS3 | undefined {
  if (cfg.direct === false || !cfg.endpoint || !cfg.accessKeyId || !cfg.secretAccessKey || !cfg.region || !cfg.forcePathStyle) return undefined;
  const base = new URL(cfg.endpoint);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') return undefined;
  const secure = base.protocol === 'https:';
  const agent = secure ? new https.Agent({ keepAlive: true, maxSockets: 64 }) : new http.Agent({ keepAlive: true, maxSockets: 64 });
  const prefix = base.pathname.replace(/\/+$/, '');
  const signer = new RequestSigner(cfg.accessKeyId, cfg.secretAccessKey, cfg.region, 's3', cfg.sessionToken);

  async function once(method: Method, bucket: string, key: string, body: Buffer | undefined, extra: Record<string, string>): Promise<IncomingMessage> {
    const path = `${prefix}/${bucket}/${encodeKey(key)}`;
    const headers: Record<string, string> = {
      host: base.host, 'x-amz-content-sha256': body ? createHash('sha256').update(body).digest('hex') : EMPTY_SHA256, ...extra,
    };
    if (body) headers['content-length'] = String(body.length);
    const signed = signer.sign(method, path, headers);
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = (secure ? https : http).request({ host: base.hostname, port: base.port || undefined, method, path, headers: signed, agent });
      const answered = watchRequest(() => cfg.endpoint!, () => `${OPERATION[method]} s3://${bucket}/${key}`);
      const connect = setTimeout(() => req.destroy(timedOut(`could not connect to ${base.host} within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
      req.on('socket', (s) => {
        if (!s.connecting) clearTimeout(connect);
        else s.once('connect', () => clearTimeout(connect));
      });
      req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(timedOut(`S3 at ${cfg.endpoint} did not answer within ${IDLE_TIMEOUT_MS / 1000} s`)));
      req.on('response', (res) => {
        clearTimeout(connect);
        answered();
        resolve(res);
      });
      req.on('error', (err) => {
        clearTimeout(connect);
        answered();
        reject(err);
      });
      req.end(body);
    });
  }

  async function send(method: Method, bucket: string, key: string, body: Buffer | undefined, extra: Record<string, string>): Promise<IncomingMessage> {
    const what = `${method} s3://${bucket}/${key}`;
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await once(method, bucket, key, body, extra);
        if ((res.statusCode ?? 0) < 300) return res;
        throw await errorOf(res, what);
      } catch (err) {
        // Refused credentials and an unreachable server are said as the SDK path says them (failures.ts).
        if (attempt >= MAX_ATTEMPTS || !transient(err)) {
          const said = (await explainS3Failure(err, { cfg, what: `${OPERATION[method]} s3://${bucket}/${key}` })) ?? err;
          // Every try timed out: say how long it was waited for, and what to look at.
          if ((said as { code?: string }).code === 'ETIMEDOUT' && attempt > 1) (said as Error).message += ` (${attempt} tries): check that AWS_ENDPOINT_URL_S3 is the S3 API's address, and that the server is not stuck`;
          throw said;
        }
        // The SDK's standard strategy: full jitter over 100 ms x 2^attempt, at most 20 s.
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(20_000, 100 * 2 ** attempt)));
      }
    }
  }

  return {
    async head(bucket, key) {
      const res = await send('HEAD', bucket, key, undefined, {});
      res.resume();
      return { size: Number(res.headers['content-length'] ?? 0), etag: res.headers.etag };
    },
    get: (bucket, key, headers = {}) => send('GET', bucket, key, undefined, headers),
    async put(bucket, key, body, headers = {}) {
      (await send('PUT', bucket, key, body, headers)).resume();
    },
  };
}
