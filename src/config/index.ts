/**
 * Runtime configuration, read from the environment. Defaults point at the embedded stack
 * that `npm start` / `partflow up` runs on this machine.
 */
export interface S3Config {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
}

export interface Config {
  temporalAddress: string;
  temporalNamespace: string;
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
  'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'PARTFLOW_TASK_QUEUE', 'AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL', 'AWS_REGION',
  'AWS_DEFAULT_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'PARTFLOW_S3_PATH_STYLE', 'PARTFLOW_BUCKET',
  'PARTFLOW_LOG_LEVEL', 'LOG_LEVEL',
] as const;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || DEFAULTS.s3Endpoint;
  return {
    temporalAddress: env.TEMPORAL_ADDRESS || DEFAULTS.temporalAddress,
    temporalNamespace: env.TEMPORAL_NAMESPACE || DEFAULTS.temporalNamespace,
    taskQueue: env.PARTFLOW_TASK_QUEUE || DEFAULTS.taskQueue,
    s3: {
      endpoint,
      region: env.AWS_REGION || env.AWS_DEFAULT_REGION || DEFAULTS.s3Region,
      accessKeyId: env.AWS_ACCESS_KEY_ID || DEFAULTS.accessKeyId,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY || DEFAULTS.secretAccessKey,
      // S3-compatible servers (versitygw, MinIO) want path-style; AWS accepts it too.
      forcePathStyle: (env.PARTFLOW_S3_PATH_STYLE ?? 'true') !== 'false',
    },
    bucket: env.PARTFLOW_BUCKET || DEFAULTS.bucket,
    logLevel: env.PARTFLOW_LOG_LEVEL || env.LOG_LEVEL || 'info',
  };
}


/** Default limit on one CSV record or JSON Lines line; larger ones become rejects. */
export const DEFAULT_MAX_RECORD_BYTES = 16 * 1024 * 1024;

/** PARTFLOW_MAX_RECORD_BYTES: the largest flat-file record partflow assembles in memory. */
export function maxRecordBytes(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.PARTFLOW_MAX_RECORD_BYTES;
  if (v === undefined || v === '') return DEFAULT_MAX_RECORD_BYTES;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`PARTFLOW_MAX_RECORD_BYTES must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}
