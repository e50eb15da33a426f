import { S3Config, S3CredentialSource } from '../config';
import { notS3Answer, regionMismatch } from './misdirected';
import { endpointPathNote } from './endpoint-path';

/**
 * S3 failures that are about the set-up, not the object: credentials the server refuses or the
 * chain cannot find, an S3 server nobody answers for, no region. S3's own words ("No user exists
 * with the provided access key ID", "connect ECONNREFUSED …") name neither the endpoint nor the
 * credentials' source, and versitygw answers an unknown key with a 404, which read as "object not
 * found". So do a region the server or bucket is not in, and an endpoint that is no S3 API
 * (misdirected.ts). These errors say where, with which access key ID (never the secret), from where, and
 * what to set. `name` stays S3's code (or node's error name) so that checks by name still hold.
 */

/** S3 error codes that mean the credentials were refused (versitygw's XAdminUserNotFound is a 404). */
export const CREDENTIAL_CODES: ReadonlySet<string> = new Set([
  'XAdminUserNotFound', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'ExpiredToken', 'InvalidToken',
]);

const UNREACHABLE = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'];
const UNREACHABLE_TEXT = new RegExp(`\\b(${UNREACHABLE.join('|')})\\b`);
/** A credential provider's failure to reach its source (metadata endpoints, SSO), as opposed to finding no credentials. */
const CREDENTIALS_SOURCE_DOWN = /\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|socket hang up|timed? ?out|TimeoutError)\b/i;

export function credentialSourceOf(cfg: S3Config): S3CredentialSource {
  return cfg.credentials ?? (cfg.accessKeyId ? 'static' : 'chain');
}

/** Where the credentials come from, in words for logs and errors. */
export function describeCredentials(cfg: S3Config): string {
  switch (credentialSourceOf(cfg)) {
    case 'static': return `AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY${cfg.sessionToken ? '/AWS_SESSION_TOKEN' : ''} from the environment`;
    case 'embedded': return 'the embedded stack\'s built-in keys (no credentials set)';
    default: return `the AWS SDK's credential chain${cfg.profile ? ` (profile ${cfg.profile})` : ''}`;
  }
}

/** A failure about the set-up; `reason` is the message without the request it stopped. */
export class S3SetupError extends Error {
  constructor(readonly reason: string, what: string | undefined, readonly original: unknown) {
    super(what ? `${what}: ${reason}` : reason);
  }
}

/** Credentials refused or not found: `name` is S3's code (or the SDK's CredentialsProviderError). */
export class S3CredentialsError extends S3SetupError {
  readonly $metadata: { httpStatusCode?: number };
  constructor(code: string, reason: string, what: string | undefined, status: number | undefined, original: unknown) {
    super(reason, what, original);
    this.name = code;
    this.$metadata = { httpStatusCode: status };
  }
}

/** Nothing answers at the endpoint: `code` is node's (ECONNREFUSED…), so it stays transient. */
export class S3UnreachableError extends S3SetupError {
  constructor(readonly code: string, reason: string, what: string | undefined, original: unknown) {
    super(reason, what, original);
    this.name = 'S3UnreachableError';
  }
}

/** A setting that no retry can fix (no region at all). */
export class S3ConfigError extends S3SetupError {
  constructor(reason: string, what: string | undefined, original: unknown) {
    super(reason, what, original);
    this.name = 'S3ConfigError';
  }
}

/**
 * The region partflow signs for is not the server's or the bucket's. Every request to that
 * server (or bucket) fails alike until the setting changes, so no retry helps.
 */
export class S3RegionError extends S3SetupError {
  /**
   * `bucketsOwn`: the region is one bucket's (AWS, where each bucket has its own, or a redirect
   * naming the bucket's), not the whole server's: other buckets may take the one partflow signs for.
   */
  constructor(readonly code: string, reason: string, what: string | undefined, readonly expected: string | undefined, readonly bucketsOwn: boolean, original: unknown) {
    super(reason, what, original);
    this.name = 'S3RegionError';
  }
}

/**
 * The endpoint answers, but not as an S3 API does (MinIO's console port, a web server, plain
 * HTTP to https://): a wrong AWS_ENDPOINT_URL_S3, which no retry fixes. It has no
 * $metadata on purpose: its 404 ("UnknownError") is no missing object.
 */
export class S3EndpointError extends S3SetupError {
  constructor(reason: string, what: string | undefined, original: unknown) {
    super(reason, what, original);
    this.name = 'S3EndpointError';
  }
}

/** The failed request's endpoint and the configuration it was made with. */
export interface S3Target {
  cfg: S3Config;
  /** The endpoint the request went to; absent: cfg.endpoint, or AWS. */
  endpoint?: string;
  /** The access key ID the chain resolved (the SDK knows it; static keys are in cfg). */
  accessKeyId?: () => Promise<string | undefined>;
  /** The region the SDK resolved (the profile's, with the chain). */
  region?: () => Promise<string | undefined>;
  /** The request, e.g. "GET s3://bucket/key", said first. */
  what?: string;
}

function endpointOf(t: S3Target): string {
  return t.endpoint ?? t.cfg.endpoint ?? `AWS S3${t.cfg.region ? ` (region ${t.cfg.region})` : ''}`;
}

const clean = (message: string) => message.replace(/^AWS SDK error wrapper for (Error: )?/, '');

/**
 * The endpoint could not be reached: the message names it and the setting, as a bare
 * "connect ECONNREFUSED" does not. Undefined for any other error.
 */
export function unreachable(err: unknown, target: S3Target): S3UnreachableError | undefined {
  if (err instanceof S3UnreachableError) return err;
  const e = err as { code?: string; message?: string } | undefined;
  // The SDK may wrap node's error ("AWS SDK error wrapper for Error: connect ECONNREFUSED …"): the code may be only in the text.
  const code = e?.code && UNREACHABLE.includes(e.code) ? e.code : UNREACHABLE_TEXT.exec(e?.message ?? '')?.[1];
  if (!code) return undefined;
  const endpoint = endpointOf(target);
  // No credentials set and an endpoint on this machine: the embedded stack's, which may just not be up.
  const check = credentialSourceOf(target.cfg) === 'embedded'
    ? 'check AWS_ENDPOINT_URL_S3 and that the S3 server runs: with no S3 credentials set, this is where the embedded stack serves S3 (`partflow up` starts it)'
    : 'check AWS_ENDPOINT_URL_S3 and that the S3 server runs and is reachable from this machine';
  return new S3UnreachableError(code, `cannot reach the S3 endpoint at ${endpoint} (${clean(e?.message ?? code)}); ${check}`, target.what, err);
}

function refusalHint(code: string, cfg: S3Config, region: string | undefined): string {
  const source = credentialSourceOf(cfg);
  const keys = source === 'chain'
    ? 'the profile\'s keys (AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY'
    : 'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY';
  if (source === 'embedded' && code !== 'AccessDenied') {
    return 'these keys are only for the embedded stack (`partflow up`): for another S3 server set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (or a [default] profile in AWS_SHARED_CREDENTIALS_FILE), to its credentials';
  }
  switch (code) {
    case 'SignatureDoesNotMatch': return `the secret key does not match the access key ID, or the region does not (${region ?? 'none'}): check ${keys}, and AWS_REGION`;
    case 'AccessDenied': return 'these credentials may not do this here: check their permissions on the bucket, and that they are the ones meant for this server';
    case 'ExpiredToken':
    case 'InvalidToken': return 'temporary credentials expire: get new ones (aws sso login, a new STS session) and set AWS_SESSION_TOKEN with them, or use the profile that refreshes them';
    default: return `the server does not know this access key ID: check ${keys}, and AWS_ENDPOINT_URL_S3`;
  }
}

/** An endpoint URL of AWS S3 itself (where each bucket has its own region), not an S3-compatible server's. */
export function isAwsEndpoint(url: string): boolean {
  return /(^|\.)amazonaws\.com(\.cn)?$/.test(new URL(url).hostname);
}

/** The setting that holds the region, for the hint. */
function regionSetting(cfg: S3Config): string {
  return credentialSourceOf(cfg) === 'chain' ? 'AWS_REGION (or region in the profile\'s section of AWS_CONFIG_FILE)' : 'AWS_REGION';
}

/** `answer`: what the endpoint answered, in words ("HTTP 404 with an HTML page"). */
export function notS3Endpoint(endpoint: string, answer: string, what: string | undefined, original: unknown): S3EndpointError {
  return new S3EndpointError(`the S3 endpoint ${endpoint} answered ${answer}, which is not an S3 API answer: check AWS_ENDPOINT_URL_S3 `
    + '(the S3 API\'s host and port, not a console\'s or a web page\'s; http:// or https:// as the server serves)', what, original);
}

/** A wrong region, or an endpoint that is not an S3 API (misdirected.ts), as errors that say where and what to set. */
async function misdirected(err: unknown, target: S3Target, endpoint: string): Promise<S3SetupError | undefined> {
  // A HEAD's answer has no body: its bare 404 is S3's "not found", and nothing else can be told from it.
  const head = /^Head(Object|Bucket)\b/.test(target.what ?? '');
  const answer = notS3Answer(err, head);
  if (answer) return notS3Endpoint(endpoint, answer, target.what, err);
  const wrong = regionMismatch(err);
  if (!wrong) return undefined;
  const used = target.cfg.region ?? (await target.region?.().catch(() => undefined));
  const setting = regionSetting(target.cfg);
  const expects = wrong.expected ? `it expects ${wrong.expected}` : 'it does not say which it expects';
  const fix = wrong.expected ? `set ${setting} to ${wrong.expected}` : `set ${setting} to the region of the server or bucket`;
  const bucket = wrong.code === 'PermanentRedirect' ? 'the bucket is in another region than' : 'it does not take';
  const aws = target.cfg.endpoint === undefined || isAwsEndpoint(target.cfg.endpoint);
  return new S3RegionError(wrong.code, `S3 at ${endpoint} refused the request for its region: ${bucket} the one partflow signs for, ${used ?? '(none)'} (${wrong.said}); ${expects}: ${fix}`,
    target.what, wrong.expected, aws || wrong.code === 'PermanentRedirect', err);
}

/**
 * The error to report for an S3 failure about the set-up (see above), or undefined for any
 * other failure, which the caller keeps as it is.
 */
export async function explainS3Failure(err: unknown, target: S3Target): Promise<Error | undefined> {
  if (err instanceof S3SetupError) return undefined;
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  const name = e?.name ?? '';
  const message = clean(e?.message ?? '');
  const endpoint = endpointOf(target);
  const { cfg } = target;
  // S3's words for a bucket name the endpoint's path made up ("The specified bucket is not valid") name neither.
  const pathNote = name === 'InvalidBucketName' ? endpointPathNote(cfg.endpoint) : '';
  if (pathNote && e && !e.message?.includes(pathNote)) {
    e.message = `${(e.message ?? '').replace(/\.$/, '')}${pathNote}`;
    const d = e as { said?: string };
    if (typeof d.said === 'string') d.said = `${d.said.replace(/\.$/, '')}${pathNote}`;
  }
  if (message === 'Region is missing') {
    return new S3ConfigError(`no S3 region for ${endpoint}: set AWS_REGION, or region in the profile's section of AWS_CONFIG_FILE (~/.aws/config)`, target.what, err);
  }
  if (name === 'CredentialsProviderError' && CREDENTIALS_SOURCE_DOWN.test(message)) {
    // The chain's source (container or instance metadata, SSO) did not answer: that may pass.
    return new S3UnreachableError('CredentialsUnavailable', `could not get S3 credentials for ${endpoint} from ${describeCredentials(cfg)}: its source did not answer (${message}); this may pass, and is retried`, target.what, err);
  }
  if (name === 'CredentialsProviderError') {
    return new S3CredentialsError(name, `no S3 credentials for ${endpoint}: ${describeCredentials(cfg)} found none (${message}). Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones), or AWS_PROFILE, or a [default] profile in ~/.aws/credentials or AWS_SHARED_CREDENTIALS_FILE; container, web-identity and instance credentials count too (PARTFLOW_S3_CREDENTIALS=chain)`, target.what, undefined, err);
  }
  const down = unreachable(err, target);
  if (down) return down;
  const wrongPlace = await misdirected(err, target, endpoint);
  if (wrongPlace) return wrongPlace;
  if (!CREDENTIAL_CODES.has(name)) return undefined;
  const id = cfg.accessKeyId ?? (await target.accessKeyId?.().catch(() => undefined));
  const said = (err as { said?: string }).said ?? `${name}: ${message}`;
  const region = cfg.region ?? (await target.region?.().catch(() => undefined));
  return new S3CredentialsError(name,
    `S3 at ${endpoint} refused the credentials${id ? ` of access key ID ${id}` : ''} (${said}; credentials: ${describeCredentials(cfg)}): ${refusalHint(name, cfg, region)}`,
    target.what, e?.$metadata?.httpStatusCode, err);
}
