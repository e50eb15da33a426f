/**
 * The environment settings a worker's activities read, checked once when the worker starts: a bad
 * value then stops it with the variable's name, instead of failing (and retrying) every partition
 * that reads it, or, for values that used to go unchecked, running with NaN or a silent default.
 */
import { ConfigError } from '../config/errors';
import { maxRecordBytes } from '../config';
import { readLimitsFromEnv } from '../avro/limits';
import { decodeGuardSettings } from '../avro/decode-guard';
import { snapshotPartEntries } from '../snapshots/store';
import { partSizeFromEnv } from '../storage/multipart';
import { durationMs } from '../pipeline/input';

const SDK_LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'] as const;

/** PARTFLOW_TEMPORAL_LOG_LEVEL: the least severe of the SDK's own log lines passed on (default WARN). */
export function temporalLogLevel(env: NodeJS.ProcessEnv = process.env): (typeof SDK_LOG_LEVELS)[number] {
  const v = (env.PARTFLOW_TEMPORAL_LOG_LEVEL ?? '').trim().toUpperCase() || 'WARN';
  // Any other word would pass every line, TRACE included (the SDK's logger ranks it below all).
  if (!(SDK_LOG_LEVELS as readonly string[]).includes(v)) throw new ConfigError(`PARTFLOW_TEMPORAL_LOG_LEVEL must be one of ${SDK_LOG_LEVELS.join(', ')}, got ${JSON.stringify(env.PARTFLOW_TEMPORAL_LOG_LEVEL)}`);
  return v as (typeof SDK_LOG_LEVELS)[number];
}

/**
 * PARTFLOW_SETUP_TIMEOUT: how long a stage's setup may run (it heartbeats meanwhile) before its
 * partition attempt fails as hung; default 10m. A duration, as PARTFLOW_SHUTDOWN_GRACE is.
 */
export function setupTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.PARTFLOW_SETUP_TIMEOUT;
  if (v === undefined || v === '') return 600_000;
  const ms = durationMs(v);
  if (ms === undefined || ms <= 0) throw new ConfigError(`PARTFLOW_SETUP_TIMEOUT must be a duration above 0 like "10m", "90s" or "500ms", got ${JSON.stringify(v)}`);
  return ms;
}

export function checkWorkerSettings(env: NodeJS.ProcessEnv = process.env): void {
  temporalLogLevel(env);
  maxRecordBytes(env);
  readLimitsFromEnv(env);
  decodeGuardSettings(env);
  snapshotPartEntries(env);
  partSizeFromEnv(env);
  setupTimeoutMs(env);
}

