/**
 * Runtime configuration, read from the environment. Defaults point at the embedded stack
 * that `npm start` / `partflow up` runs on this machine.
 */
import os from 'node:os';
import { ConfigError, envBoolean, envInteger } from './errors';
import { loadTemporalConnection, TEMPORAL_ENV_VARS, TemporalConnectionSettings } from '../temporal/connection';
import { logLevel } from '../log/level';

export interface S3Config {
  /** Absent: AWS S3 itself. */
  endpoint?: string;
  /** Absent: the AWS SDK resolves it (the profile's region). */
  region?: string;
  /** Static keys; absent: the AWS SDK's own credential chain (profile, container, web identity, instance). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** With static keys: AWS_SESSION_TOKEN of temporary credentials (STS, SSO, CI OIDC). */
  sessionToken?: string;
  /** Where the credentials come from, for messages; absent: static when accessKeyId is set, else the chain. */
  credentials?: S3CredentialSource;
  /** AWS_PROFILE, handed to the SDK's chain explicitly. */
  profile?: string;
  forcePathStyle: boolean;
  /** false: single-object GETs and PUTs go through the AWS SDK too (PARTFLOW_S3_DIRECT=0). */
  direct?: boolean;
}

/**
 * static: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY from the environment; chain: the AWS SDK's
 * credential chain; embedded: the embedded stack's built-in keys (DEFAULTS).
 */
export type S3CredentialSource = 'static' | 'chain' | 'embedded';

export interface Config {
  temporalAddress: string;
  temporalNamespace: string;
  /** Everything needed to connect (TLS, API key, gRPC metadata), by Temporal's conventions. */
  temporal: TemporalConnectionSettings;
  taskQueue: string;
  s3: S3Config;
  /** Bucket the embedded stack creates and the sample data lands in. */
  bucket: string;
  logLevel: string;
}

export const DEFAULTS = {
  temporalAddress: '127.0.0.1:7233',
  temporalUiPort: 8233,
  temporalNamespace: 'default',
  taskQueue: 'partflow',
  s3Endpoint: 'http://127.0.0.1:7070',
  s3Region: 'us-east-1',
  accessKeyId: 'partflow',
  secretAccessKey: 'partflow-secret',
  bucket: 'partflow',
} as const;

/** Every environment variable loadConfig reads (docker-compose.yml's worker is checked against it). */
export const CONFIG_ENV_VARS = [
  ...TEMPORAL_ENV_VARS, 'PARTFLOW_TASK_QUEUE', 'AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL', 'AWS_REGION',
  'AWS_DEFAULT_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'PARTFLOW_S3_CREDENTIALS', 'PARTFLOW_S3_PATH_STYLE', 'PARTFLOW_S3_DIRECT',
  'PARTFLOW_BUCKET', 'PARTFLOW_LOG_LEVEL', 'LOG_LEVEL', 'PARTFLOW_METRICS_PORT',
] as const;

/**
 * Variables that mean "use the AWS SDK's credential chain": a named profile or a shared
 * credentials or config file (whose [default] profile the chain reads without AWS_PROFILE),
 * ECS/EKS container credentials, web identity (IRSA).
 */
const CHAIN_VARS = [
  'AWS_PROFILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_WEB_IDENTITY_TOKEN_FILE',
];

/** Whether an endpoint URL names this machine (127.0.0.0/8, localhost, ::1): the only place the embedded keys may go. */
export function isLoopbackEndpoint(endpoint: string): boolean {
  let host: string;
  try {
    host = new URL(endpoint).hostname;
  } catch {
    return false;
  }
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** An endpoint without its scheme ("127.0.0.1:7070") would read as a URL of scheme "127.0.0.1:", or none. */
function checkEndpointUrl(name: string, value: string): void {
  let protocol: string | undefined;
  try {
    protocol = new URL(value).protocol;
  } catch {
    protocol = undefined;
  }
  if (protocol !== 'http:' && protocol !== 'https:') throw new ConfigError(`${name} must be a URL like http://host:port or https://host (with its scheme), got ${JSON.stringify(value)}`);
}

/**
 * Static keys come as a pair. With one half set, neither partflow nor the SDK's chain would use
 * it: the other credentials (the embedded stack's keys, a profile, none) would go out instead, and
 * the error, if any, would not say that a half was missing. The access key ID is named, never the secret.
 */
function checkKeyPair(env: NodeJS.ProcessEnv): void {
  const id = env.AWS_ACCESS_KEY_ID || undefined;
  const secret = env.AWS_SECRET_ACCESS_KEY || undefined;
  if (id !== undefined && secret === undefined) {
    throw new ConfigError(`AWS_ACCESS_KEY_ID is set (${JSON.stringify(id)}) but AWS_SECRET_ACCESS_KEY is not: static S3 keys need both; set AWS_SECRET_ACCESS_KEY to its secret, or unset AWS_ACCESS_KEY_ID (see "S3 credentials" in the README)`);
  }
  if (secret !== undefined && id === undefined) {
    throw new ConfigError('AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not: static S3 keys need both; set AWS_ACCESS_KEY_ID to the access key ID it belongs to, or unset AWS_SECRET_ACCESS_KEY (see "S3 credentials" in the README)');
  }
}

/**
 * S3, first match wins: static AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN);
 * PARTFLOW_S3_CREDENTIALS=chain or a chain source set: the SDK's chain (then AWS itself unless an
 * endpoint is given); no endpoint, or a loopback one: the embedded stack's keys, so `npm start`
 * and the tests need no settings. The embedded keys never go to another machine: an endpoint
 * elsewhere with no credentials set is the chain's (a [default] profile in ~/.aws, say).
 */
function loadS3(env: NodeJS.ProcessEnv): S3Config {
  const explicit = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  if (explicit !== undefined) checkEndpointUrl(env.AWS_ENDPOINT_URL_S3 ? 'AWS_ENDPOINT_URL_S3' : 'AWS_ENDPOINT_URL', explicit);
  const mode = env.PARTFLOW_S3_CREDENTIALS || undefined;
  if (mode !== undefined && mode !== 'chain' && mode !== 'embedded') {
    throw new ConfigError(`PARTFLOW_S3_CREDENTIALS must be "chain" (the AWS SDK's credential chain) or "embedded", got ${JSON.stringify(mode)}`);
  }
  checkKeyPair(env);
  const keys = env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
    ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) }
    : undefined;
  const remote = explicit !== undefined && !isLoopbackEndpoint(explicit);
  if (mode === 'embedded' && !keys && remote) {
    throw new ConfigError(`PARTFLOW_S3_CREDENTIALS=embedded sends the embedded stack's built-in keys, which only ever go to this machine, but AWS_ENDPOINT_URL_S3 is ${explicit}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) for that server instead`);
  }
  const chain = mode === 'chain' || (mode !== 'embedded' && !keys && (remote || CHAIN_VARS.some((v) => env[v])));
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
  // S3-compatible servers (versitygw, MinIO) want path-style; AWS accepts it too.
  const forcePathStyle = envBoolean(env, 'PARTFLOW_S3_PATH_STYLE', { fallback: true, what: 'true (bucket in the path, as S3-compatible servers want) or false (bucket in the host name)' });
  const direct = env.PARTFLOW_S3_DIRECT ?? '1';
  if (direct !== '0' && direct !== '1') throw new ConfigError(`PARTFLOW_S3_DIRECT must be 1 (sign single-object requests without the AWS SDK) or 0, got ${JSON.stringify(direct)}`);
  if (chain) return { endpoint: explicit, region, ...(env.AWS_PROFILE ? { profile: env.AWS_PROFILE } : {}), forcePathStyle, credentials: 'chain' };
  return {
    endpoint: explicit ?? DEFAULTS.s3Endpoint,
    region: region ?? DEFAULTS.s3Region,
    ...(keys ?? { accessKeyId: DEFAULTS.accessKeyId, secretAccessKey: DEFAULTS.secretAccessKey }),
    forcePathStyle,
    credentials: keys ? 'static' : 'embedded',
    ...(direct === '0' ? { direct: false } : {}),
  };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const temporal = loadTemporalConnection(env);
  return {
    temporalAddress: temporal.address,
    temporalNamespace: temporal.namespace,
    temporal,
    taskQueue: env.PARTFLOW_TASK_QUEUE || DEFAULTS.taskQueue,
    s3: loadS3(env),
    bucket: env.PARTFLOW_BUCKET || DEFAULTS.bucket,
    logLevel: logLevel(env),
  };
}


/** Default limit on one CSV record or JSON Lines line; larger ones become rejects. */
export const DEFAULT_MAX_RECORD_BYTES = 16 * 1024 * 1024;

/** PARTFLOW_MAX_RECORD_BYTES: the largest flat-file record partflow assembles in memory. */
export function maxRecordBytes(env: NodeJS.ProcessEnv = process.env): number {
  return envInteger(env, 'PARTFLOW_MAX_RECORD_BYTES', { min: 1, max: Number.MAX_SAFE_INTEGER, fallback: DEFAULT_MAX_RECORD_BYTES, what: 'a positive integer' });
}

export const MAX_WORKER_PROCESSES = 256;

/**
 * Processes `partflow worker` runs (PARTFLOW_WORKER_PROCESSES): a number, or "auto" for one per
 * core (os.availableParallelism()); unset means `fallback`. One event loop uses about one core,
 * so a worker needs a process per core to use the machine.
 */
export function workerProcesses(env: NodeJS.ProcessEnv = process.env, fallback: number = os.availableParallelism()): number {
  const v = env.PARTFLOW_WORKER_PROCESSES?.trim();
  if (v === undefined || v === '') return fallback;
  if (v.toLowerCase() === 'auto') return os.availableParallelism();
  return envInteger(env, 'PARTFLOW_WORKER_PROCESSES', { min: 1, max: MAX_WORKER_PROCESSES, fallback, what: `"auto" or an integer from 1 to ${MAX_WORKER_PROCESSES}` });
}
