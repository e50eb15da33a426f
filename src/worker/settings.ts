/**
 * The environment settings a worker and its activities read, checked once when the worker starts: a bad
 * value then stops it with the variable's name, instead of failing (and retrying) every partition
 * that reads it, or, for values that used to go unchecked, running with NaN or a silent default.
 */
import { ConfigError, envDuration } from '../config/errors';
import { maxRecordBytes } from '../config';
import { readLimitsFromEnv } from '../avro/limits';
import { decodeGuardSettings } from '../avro/decode-guard';
import { snapshotPartEntries } from '../snapshots/store';
import { partSizeFromEnv } from '../storage/multipart';
import { conditionalWritesSetting } from '../storage/conditional';
import { clientSettingsFromEnv } from '../sources/kafka/client';

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
 * partition attempt fails as hung; default 10m.
 */
export function setupTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  return envDuration(env, 'PARTFLOW_SETUP_TIMEOUT', { fallback: 600_000, min: 1, what: 'a duration above 0 like "10m", "90s" or "500ms"' });
}

/**
 * PARTFLOW_SHUTDOWN_GRACE: how long a stopping worker lets running partitions go on before it
 * cancels them (default 5s): some finish; the others then send their last checkpoint and fail
 * over to the next attempt, which resumes.
 */
export function shutdownGraceMs(env: NodeJS.ProcessEnv = process.env): number {
  return envDuration(env, 'PARTFLOW_SHUTDOWN_GRACE', { fallback: 5_000, what: 'a duration like "5s", "500ms" or "0"' });
}

export function checkWorkerSettings(env: NodeJS.ProcessEnv = process.env): void {
  temporalLogLevel(env);
  maxRecordBytes(env);
  readLimitsFromEnv(env);
  decodeGuardSettings(env);
  snapshotPartEntries(env);
  partSizeFromEnv(env);
  setupTimeoutMs(env);
  shutdownGraceMs(env);
  // Read at each commit; at start only by the S3 probe, whose failures are logged, not fatal.
  conditionalWritesSetting(env);
  // Read when a Kafka ingest is planned; checked here without a broker (and read, the TLS files),
  // so that a worker without PARTFLOW_KAFKA_* set starts as before.
  clientSettingsFromEnv(env);
}

