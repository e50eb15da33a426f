import { ConfigError, envDuration } from '../../src/config/errors';
import { checkWorkerSettings, setupTimeoutMs, shutdownGraceMs } from '../../src/worker/settings';
import { workerConcurrency } from '../../src/worker/worker';
import { balanceSlots } from '../../src/worker/run';
import { metricsPort } from '../../src/metrics/server';
import { partSizeFromEnv } from '../../src/storage/multipart';

describe('PARTFLOW_WORKER_CONCURRENCY', () => {
  it('is checked as --concurrency is: an integer from 1 to 1000, named in the error', () => {
    expect(workerConcurrency({})).toBe(8);
    expect(workerConcurrency({ PARTFLOW_WORKER_CONCURRENCY: '' })).toBe(8);
    expect(workerConcurrency({ PARTFLOW_WORKER_CONCURRENCY: ' 16 ' })).toBe(16);
    for (const bad of ['abc', '0', '2.5', '-3', '1001', '1e3', '0x10']) {
      expect(() => workerConcurrency({ PARTFLOW_WORKER_CONCURRENCY: bad })).toThrow(new ConfigError(`PARTFLOW_WORKER_CONCURRENCY must be an integer from 1 to 1000, got ${JSON.stringify(bad)}`));
    }
  });
});

describe("the worker's other settings", () => {
  it.each([
    ['PARTFLOW_PART_SIZE', 'abc'], ['PARTFLOW_PART_SIZE', '1048576'], ['PARTFLOW_PART_SIZE', '8388608.5'],
    ['PARTFLOW_SNAPSHOT_PART_ENTRIES', 'many'], ['PARTFLOW_SNAPSHOT_PART_ENTRIES', '0'],
    ['PARTFLOW_MAX_RECORD_BYTES', 'x'], ['PARTFLOW_MAX_BLOCK_BYTES', '2.5'], ['PARTFLOW_MAX_HEADER_BYTES', '-1'],
    ['PARTFLOW_DECODE_HEAP_MB', '8'], ['PARTFLOW_DECODE_GUARD', 'maybe'], ['PARTFLOW_TEMPORAL_LOG_LEVEL', 'verbose'],
    ['PARTFLOW_SETUP_TIMEOUT', 'soon'], ['PARTFLOW_SETUP_TIMEOUT', '0'], ['PARTFLOW_SETUP_TIMEOUT', '30d'],
    ['PARTFLOW_SHUTDOWN_GRACE', 'soon'], ['PARTFLOW_SHUTDOWN_GRACE', '-1s'], ['PARTFLOW_SHUTDOWN_GRACE', '25d'],
    // Was only logged by the start-up S3 probe, and then failed every commit of every partition.
    ['PARTFLOW_CONDITIONAL_WRITES', 'maybe'],
  ])('%s=%s stops the worker at start with a ConfigError naming it', (name, value) => {
    expect(() => checkWorkerSettings({ [name]: value })).toThrow(ConfigError);
    expect(() => checkWorkerSettings({ [name]: value })).toThrow(new RegExp(`^${name} must be`));
  });

  it.each([
    // Each was read only when a Kafka ingest was planned: the worker started, and every such ingest failed.
    [{ PARTFLOW_KAFKA_SASL_MECHANISM: 'FOO' }, 'PARTFLOW_KAFKA_SASL_MECHANISM=FOO: expected one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512'],
    [{ PARTFLOW_KAFKA_SASL_MECHANISM: 'PLAIN' }, 'PARTFLOW_KAFKA_SASL_MECHANISM is set: PARTFLOW_KAFKA_SASL_USERNAME and PARTFLOW_KAFKA_SASL_PASSWORD are needed too'],
    [{ PARTFLOW_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256', PARTFLOW_KAFKA_SASL_USERNAME: 'u' }, 'PARTFLOW_KAFKA_SASL_MECHANISM is set: PARTFLOW_KAFKA_SASL_USERNAME and PARTFLOW_KAFKA_SASL_PASSWORD are needed too'],
    // Was no TLS: only "1" and "true" counted.
    [{ PARTFLOW_KAFKA_TLS: 'maybe' }, 'PARTFLOW_KAFKA_TLS must be true (or 1) to connect to the brokers with TLS, or false (or 0), got "maybe"'],
    [{ PARTFLOW_KAFKA_TLS: 'yes' }, 'PARTFLOW_KAFKA_TLS must be true (or 1) to connect to the brokers with TLS, or false (or 0), got "yes"'],
    [{ PARTFLOW_KAFKA_TLS_CA: '/nonexistent.pem' }, "PARTFLOW_KAFKA_TLS_CA=/nonexistent.pem: cannot read it: ENOENT: no such file or directory, open '/nonexistent.pem'"],
    [{ PARTFLOW_KAFKA_TLS_CERT: '/nonexistent.pem' }, "PARTFLOW_KAFKA_TLS_CERT=/nonexistent.pem: cannot read it: ENOENT: no such file or directory, open '/nonexistent.pem'"],
    [{ PARTFLOW_KAFKA_TLS_KEY: '/' }, "PARTFLOW_KAFKA_TLS_KEY=/: cannot read it: EISDIR: illegal operation on a directory, read"],
  ])('Kafka client settings %o stop the worker at start with a ConfigError naming the variable', (env, message) => {
    expect(() => checkWorkerSettings(env)).toThrow(ConfigError);
    expect(() => checkWorkerSettings(env)).toThrow(new ConfigError(message));
  });

  it('accepts good Kafka client settings, and none', () => {
    for (const v of ['1', 'true', 'TRUE', ' 0 ', 'false', '']) expect(() => checkWorkerSettings({ PARTFLOW_KAFKA_TLS: v })).not.toThrow();
    expect(() => checkWorkerSettings({ PARTFLOW_KAFKA_SASL_MECHANISM: 'PLAIN', PARTFLOW_KAFKA_SASL_USERNAME: 'u', PARTFLOW_KAFKA_SASL_PASSWORD: '' })).not.toThrow();
    expect(() => checkWorkerSettings({ PARTFLOW_KAFKA_TLS_CA: __filename })).not.toThrow();
  });

  it('accepts good values and unset ones', () => {
    expect(() => checkWorkerSettings({})).not.toThrow();
    expect(() => checkWorkerSettings({ PARTFLOW_PART_SIZE: String(16 * 1024 ** 2), PARTFLOW_SNAPSHOT_PART_ENTRIES: '2', PARTFLOW_MAX_BLOCK_BYTES: '1024' })).not.toThrow();
    for (const v of ['auto', 'ON', 'off']) expect(() => checkWorkerSettings({ PARTFLOW_CONDITIONAL_WRITES: v })).not.toThrow();
  });

  it('the settings checked elsewhere are ConfigErrors too (the CLI exits 2 on them)', () => {
    expect(() => shutdownGraceMs({ PARTFLOW_SHUTDOWN_GRACE: 'soon' })).toThrow(ConfigError);
    expect(() => balanceSlots({ PARTFLOW_WORKER_BALANCE: 'maybe' })).toThrow(ConfigError);
    expect(() => metricsPort({ PARTFLOW_METRICS_PORT: 'x' })).toThrow(ConfigError);
    // Where uploads read it (CLI upload and import too, not only a worker): "abc" used to be NaN.
    expect(() => partSizeFromEnv({ PARTFLOW_PART_SIZE: 'abc' })).toThrow(ConfigError);
    expect(partSizeFromEnv({})).toBe(8 * 1024 * 1024);
    expect(partSizeFromEnv({ PARTFLOW_PART_SIZE: String(6 * 1024 * 1024) })).toBe(6 * 1024 * 1024);
  });
});

describe('PARTFLOW_SETUP_TIMEOUT and PARTFLOW_SHUTDOWN_GRACE', () => {
  it('PARTFLOW_SETUP_TIMEOUT is a duration above 0, default 10 minutes', () => {
    expect(setupTimeoutMs({})).toBe(600_000);
    expect(setupTimeoutMs({ PARTFLOW_SETUP_TIMEOUT: '90s' })).toBe(90_000);
    expect(setupTimeoutMs({ PARTFLOW_SETUP_TIMEOUT: '1h' })).toBe(3_600_000);
    expect(() => setupTimeoutMs({ PARTFLOW_SETUP_TIMEOUT: '0' })).toThrow('PARTFLOW_SETUP_TIMEOUT must be a duration above 0 like "10m", "90s" or "500ms", got "0"');
  });

  it('PARTFLOW_SHUTDOWN_GRACE is a duration, 0 allowed, default 5 seconds', () => {
    expect(shutdownGraceMs({})).toBe(5_000);
    expect(shutdownGraceMs({ PARTFLOW_SHUTDOWN_GRACE: ' ' })).toBe(5_000);
    expect(shutdownGraceMs({ PARTFLOW_SHUTDOWN_GRACE: '0' })).toBe(0);
    expect(shutdownGraceMs({ PARTFLOW_SHUTDOWN_GRACE: '500ms' })).toBe(500);
    expect(shutdownGraceMs({ PARTFLOW_SHUTDOWN_GRACE: '2m' })).toBe(120_000);
    expect(() => shutdownGraceMs({ PARTFLOW_SHUTDOWN_GRACE: 'soon' })).toThrow('PARTFLOW_SHUTDOWN_GRACE must be a duration like "5s", "500ms" or "0", got "soon"');
  });

  it('neither may exceed what a timer holds: a longer one would fire at once', () => {
    expect(shutdownGraceMs({ PARTFLOW_SHUTDOWN_GRACE: '24d' })).toBe(24 * 86_400_000);
    expect(() => shutdownGraceMs({ PARTFLOW_SHUTDOWN_GRACE: '25d' })).toThrow('PARTFLOW_SHUTDOWN_GRACE must be at most 24d, got "25d"');
    expect(() => setupTimeoutMs({ PARTFLOW_SETUP_TIMEOUT: '9999h' })).toThrow('PARTFLOW_SETUP_TIMEOUT must be at most 24d, got "9999h"');
  });

  it('envDuration takes bounds of its own', () => {
    expect(envDuration({ X: '2s' }, 'X', { fallback: 1, min: 1000, max: 60_000 })).toBe(2000);
    expect(() => envDuration({ X: '2m' }, 'X', { fallback: 1, max: 60_000 })).toThrow(new ConfigError('X must be at most 1m, got "2m"'));
    expect(() => envDuration({ X: '1ms' }, 'X', { fallback: 1, min: 1000, what: 'a second or more' })).toThrow(new ConfigError('X must be a second or more, got "1ms"'));
  });
});
