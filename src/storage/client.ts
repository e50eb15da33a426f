import { createHash } from 'node:crypto';
import { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { S3Config } from '../config';
import { directS3, DirectS3 } from './direct';
import { explainS3Failure, isAwsEndpoint, notS3Endpoint } from './failures';
import { contentTypeInWords } from './misdirected';
import { formatS3Url } from './s3url';
import { S3_IDLE_TIMEOUT_MS, S3_MAX_ATTEMPTS, watchRequest } from './slow-requests';

// partflow runs on Node 20 by decision; the SDK's "Node 22 from 2027" notice is noise in every command's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const clients = new Map<string, S3Client>();

const silent = () => undefined;
/**
 * Logs nothing, like the SDK's default, but has no `info` or `error`: the SDK then skips
 * building a redacted copy of every request and response (or failed request: each "not found"
 * is one) just to hand it to a no-op.
 */
const QUIET_LOGGER = { trace: silent, debug: silent, warn: silent } as unknown as NonNullable<S3ClientConfig['logger']>;

const direct = new WeakMap<S3Client, DirectS3>();

/**
 * A shared S3 client per endpoint+credentials. Keep-alive matters: a stage makes many small
 * requests. Its single-object GETs and PUTs go around the SDK where they can (see direct.ts);
 * PARTFLOW_S3_DIRECT=0 sends them through the SDK too.
 */
export function s3Client(cfg: S3Config): S3Client {
  // The secret only as a digest: a store that changes a user's secret keeps its key ID, and the old client would go on failing.
  const secret = cfg.secretAccessKey ? createHash('sha256').update(cfg.secretAccessKey).digest('hex').slice(0, 16) : '';
  const id = `${cfg.endpoint}|${cfg.region}|${cfg.accessKeyId ?? `profile:${cfg.profile ?? ''}`}|${secret}|${cfg.sessionToken ?? ''}|${cfg.forcePathStyle}|${cfg.direct !== false}`;
  let c = clients.get(id);
  if (!c) {
    c = createS3Client(cfg);
    clients.set(id, c);
    const d = directS3(cfg);
    if (d) direct.set(c, d);
  }
  return c;
}

/** The direct path of a shared client, if it has one (clients of createS3Client never do). */
export function directOf(s3: S3Client): DirectS3 | undefined {
  return direct.get(s3);
}

/** The endpoint a client's last request went to (with the chain, a profile's endpoint_url or AWS's). */
const lastEndpoint = new WeakMap<S3Client, string>();
const configs = new WeakMap<S3Client, S3Config>();

/** The configuration a client of createS3Client or s3Client was made with. */
export function configOf(s3: S3Client): S3Config | undefined {
  return configs.get(s3);
}

/**
 * Where a client's requests go, for people: its endpoint as configured, or "AWS S3 (region …)"
 * for AWS. With none configured, known for certain once it has sent a request (a profile's
 * endpoint_url is resolved per request).
 */
export async function describeEndpoint(s3: S3Client, cfg = configOf(s3)): Promise<string> {
  // As configured, path and all: the request's own origin drops a path prefix (http://host:port/storage).
  const used = cfg?.endpoint ?? lastEndpoint.get(s3);
  if (used && !isAwsEndpoint(used)) return used;
  const region = cfg?.region ?? (await s3.config.region().catch(() => undefined));
  return `AWS S3${region ? ` (region ${region})` : ''}`;
}

const ENDPOINT = Symbol('partflow.endpoint');

type RequestInput = { Bucket?: string; Key?: string; Prefix?: string } | undefined;

/** "GetObject s3://bucket/key", "ListObjectsV2 s3://bucket/prefix/": the request, for errors. */
function requestOf(command: string | undefined, input: RequestInput): string | undefined {
  const op = command?.replace(/Command$/, '');
  if (!op || !input?.Bucket) return op;
  return `${op} ${formatS3Url({ bucket: input.Bucket, key: input.Key ?? input.Prefix ?? '' })}`;
}

/**
 * A web server that answers 200 to anything (a single-page app, the Temporal UI) passes for S3 on
 * a HEAD or a GET, and its page parses as an empty listing: every S3 listing has at least
 * IsTruncated, and usually Name and MaxKeys, where such a page has none.
 */
function looksListed(output: unknown): boolean {
  const o = (output ?? {}) as { IsTruncated?: unknown; Name?: unknown; MaxKeys?: unknown; KeyCount?: unknown };
  return o.IsTruncated !== undefined || o.Name !== undefined || o.MaxKeys !== undefined || o.KeyCount !== undefined;
}

function bodyKind(response: unknown): string {
  const headers = (response as { headers?: Record<string, string | undefined> } | undefined)?.headers ?? {};
  return contentTypeInWords(Object.entries(headers).find(([k]) => k.toLowerCase() === 'content-type')?.[1]);
}

/**
 * Failures about the set-up (refused or missing credentials, no server, no or the wrong region,
 * an endpoint that is no S3 API) come out of
 * every request as errors that name the endpoint and the credentials' source (failures.ts).
 * One middleware notes the endpoint the request goes to, once the SDK has resolved it; the
 * other, outermost (after the SDK's retries), rewrites the error.
 */
function explainFailures(c: S3Client, cfg: S3Config): void {
  c.middlewareStack.add((next, context) => async (args) => {
    // Said only for a failure: most requests succeed.
    const what = () => requestOf(context.commandName, args.input as RequestInput);
    // The configured one with its path; the request's origin only where none is (a profile's, AWS's).
    const endpoint = () => cfg.endpoint ?? (context as Record<symbol, string | undefined>)[ENDPOINT];
    const answered = watchRequest(() => endpoint() ?? 'AWS S3', what);
    try {
      const result = await next(args);
      answered();
      if (context.commandName === 'ListObjectsV2Command' && !looksListed(result.output)) {
        throw notS3Endpoint(endpoint() ?? 'AWS S3', `HTTP 200 with ${bodyKind(result.response)} and no listing in it`, what(), undefined);
      }
      return result;
    } catch (err) {
      answered();
      throw (await explainS3Failure(err, {
        cfg,
        what: what(),
        endpoint: endpoint(),
        accessKeyId: async () => (await c.config.credentials()).accessKeyId,
        region: () => c.config.region(),
      })) ?? err;
    }
  }, { step: 'initialize', name: 'partflowExplainFailures' });
  c.middlewareStack.add((next, context) => async (args) => {
    const r = args.request as { protocol?: string; hostname?: string; port?: number } | undefined;
    if (r?.hostname) {
      const origin = `${r.protocol}//${r.hostname}${r.port ? `:${r.port}` : ''}`;
      (context as Record<symbol, string>)[ENDPOINT] = origin;
      lastEndpoint.set(c, origin);
    }
    return next(args);
  }, { step: 'build', name: 'partflowEndpointUsed' });
}

/** A new client with partflow's settings, not shared (tests add middleware to their own). */
export function createS3Client(cfg: S3Config): S3Client {
  const c = new S3Client({
    endpoint: cfg.endpoint,
    region: cfg.region,
    forcePathStyle: cfg.forcePathStyle,
    // Without static keys the SDK's own chain finds them (AWS_PROFILE, shared files, container, instance).
    ...(cfg.accessKeyId && cfg.secretAccessKey
      ? { credentials: { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey, ...(cfg.sessionToken ? { sessionToken: cfg.sessionToken } : {}) } }
      : {}),
    ...(cfg.profile ? { profile: cfg.profile } : {}),
    // Transient failures (5xx, throttling, resets) get a few SDK retries before Temporal's own.
    maxAttempts: S3_MAX_ATTEMPTS,
    logger: QUIET_LOGGER,
    // Only add checksums where the API requires them: not every S3-compatible server
    // understands the newer default CRC32 trailers.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: new NodeHttpHandler({
      httpAgent: new Agent({ keepAlive: true, maxSockets: 64 }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 64 }),
      connectionTimeout: 5_000,
      requestTimeout: S3_IDLE_TIMEOUT_MS,
    }),
  });
  explainFailures(c, cfg);
  configs.set(c, cfg);
  return c;
}
