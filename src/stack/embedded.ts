import { CreateBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { Connection } from '@temporalio/client';
import fs from 'node:fs';
import path from 'node:path';
import { Config, DEFAULTS, isLoopbackEndpoint } from '../config';
import { s3Client } from '../storage/client';
import { KafkaBroker, kafkaLibs, startKafka } from './kafka';
import { assertPortFree, freePort, Managed, StackError, startProcess, toolPath, waitReady } from './process';
import { SEARCH_ATTRIBUTES } from './search-attributes';

export interface EmbeddedStack {
  temporal: Managed;
  /** Absent with StackOptions.s3 false: the configured store is used as it is. */
  s3?: Managed;
  /** With StackOptions.kafka: a single-node Kafka broker (KRaft). */
  kafka?: KafkaBroker;
  uiUrl: string;
  stop(): Promise<void>;
}

export interface StackOptions {
  dataDir: string;
  uiPort: number;
  logDir?: string;
  /** Register partflow's search attributes at start (default); off gives a bare server, as a user's own may be. */
  searchAttributes?: boolean;
  /** Also start a Kafka broker on 127.0.0.1:<port>, its data in dataDir/kafka (partflow up --kafka). */
  kafka?: { port: number };
  /** Start versitygw (default); false uses the store the configuration names (partflow up --no-s3). */
  s3?: boolean;
  /** Temporal dynamic config values (`--dynamic-config-value key=value`), e.g. for benchmarks of server settings. */
  dynamicConfig?: Record<string, string | number | boolean>;
}

function hostPort(addr: string | undefined, what: string, env: string): { host: string; port: number } {
  // With AWS_PROFILE, a shared credentials file or container credentials set, S3 means AWS: the embedded versitygw needs its own settings.
  if (addr === undefined) throw new StackError(`the embedded ${what} needs ${env} (host:port); it is unset because AWS credentials point at AWS (AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE or container credentials): unset them or set PARTFLOW_S3_CREDENTIALS=embedded`);
  const m = /^(?:https?:\/\/)?([^:/]+):(\d+)\/?$/.exec(addr);
  if (!m) throw new StackError(`${env}=${addr} must be host:port for the embedded ${what}`);
  return { host: m[1], port: Number(m[2]) };
}

/** `temporal server start-dev` with its SQLite file in dataDir and partflow's search attributes. */
export async function startTemporal(cfg: Config, opts: StackOptions): Promise<Managed> {
  const t = hostPort(cfg.temporalAddress, 'Temporal server', 'TEMPORAL_ADDRESS');
  fs.mkdirSync(opts.dataDir, { recursive: true });
  const m = startProcess('temporal server', toolPath('temporal'), [
    'server', 'start-dev', '--ip', t.host, '--port', String(t.port), '--ui-port', String(opts.uiPort),
    '--db-filename', path.join(opts.dataDir, 'temporal.sqlite'), '--namespace', cfg.temporalNamespace, '--log-level', 'warn',
    ...Object.entries(opts.searchAttributes === false ? {} : SEARCH_ATTRIBUTES).flatMap(([k, v]) => ['--search-attribute', `${k}=${v}`]),
    ...Object.entries(opts.dynamicConfig ?? {}).flatMap(([k, v]) => ['--dynamic-config-value', `${k}=${JSON.stringify(v)}`]),
  ], { logFile: path.join(opts.logDir ?? path.join(opts.dataDir, 'logs'), 'temporal.log') });
  try {
    await waitReady(m, async () => {
      const c = await Connection.connect({ address: cfg.temporalAddress, connectTimeout: 1000 });
      try {
        await c.workflowService.getSystemInfo({});
        return true;
      } finally {
        await c.close();
      }
    }, 60_000);
  } catch (err) {
    await m.stop();
    throw err;
  }
  return m;
}

/** versitygw serving dataDir/s3/data over S3, with the configured bucket created. */
export async function startS3(cfg: Config, opts: StackOptions): Promise<Managed> {
  const s = hostPort(cfg.s3.endpoint, 'S3 server', 'AWS_ENDPOINT_URL_S3');
  // Its root user would get the built-in keys, which partflow sends to this machine's loopback only:
  // the client would have none (or others) and wait for a server it cannot use.
  if (!cfg.s3.accessKeyId && !isLoopbackEndpoint(cfg.s3.endpoint!)) {
    throw new StackError(`the embedded S3 server at ${cfg.s3.endpoint} is not on 127.0.0.1, localhost or ::1, where alone partflow sends its built-in keys: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (versitygw's root user gets them), or serve S3 on 127.0.0.1`);
  }
  // The sidecar keeps object metadata off xattrs, which not every filesystem has; versitygw
  // wants it outside the object root.
  const s3Dir = path.join(opts.dataDir, 's3', 'data');
  const s3Meta = path.join(opts.dataDir, 's3', 'meta');
  fs.mkdirSync(s3Dir, { recursive: true });
  fs.mkdirSync(s3Meta, { recursive: true });
  const m = startProcess('versitygw', toolPath('versitygw'), ['--port', `${s.host}:${s.port}`, 'posix', '--sidecar', s3Meta, s3Dir], {
    logFile: path.join(opts.logDir ?? path.join(opts.dataDir, 'logs'), 'versitygw.log'),
    // Keep-alive is off by default in versitygw: every response would close its connection, and a
    // worker would pay a TCP connect per request (several per partition). The variable, not the
    // flag, so that a PARTFLOW_VERSITYGW_BIN from before the option still starts.
    env: { ROOT_ACCESS_KEY: cfg.s3.accessKeyId ?? DEFAULTS.accessKeyId, ROOT_SECRET_KEY: cfg.s3.secretAccessKey ?? DEFAULTS.secretAccessKey, VGW_KEEP_ALIVE: 'true' },
  });
  try {
    const client = s3Client(cfg.s3);
    await waitReady(m, async () => { await client.send(new ListBucketsCommand({})); return true; }, 30_000);
    await ensureBucket(client, cfg.bucket);
  } catch (err) {
    await m.stop();
    throw err;
  }
  return m;
}

/**
 * Starts `temporal server start-dev` and versitygw (unless opts.s3 is false) on this machine, at
 * the addresses the configuration names, with state under dataDir. stop() ends them.
 */
export async function startEmbeddedStack(cfg: Config, opts: StackOptions): Promise<EmbeddedStack> {
  const t = hostPort(cfg.temporalAddress, 'Temporal server', 'TEMPORAL_ADDRESS');
  await assertPortFree(t.host, t.port, 'Temporal gRPC', 'TEMPORAL_ADDRESS (or, if that is your own Temporal server, run `partflow worker` against it instead of `partflow up`: up always starts its own)');
  await assertPortFree(t.host, opts.uiPort, 'Temporal UI', 'PARTFLOW_UI_PORT');
  const withS3 = opts.s3 !== false;
  if (withS3) {
    const s = hostPort(cfg.s3.endpoint, 'S3 server', 'AWS_ENDPOINT_URL_S3');
    // Taken, it may be the user's own S3 server at the address they configured.
    await assertPortFree(s.host, s.port, 'S3 (versitygw)', 'AWS_ENDPOINT_URL_S3 (or, if that is your own S3 server, use it with `partflow up --no-s3`)');
  }
  if (opts.kafka) {
    kafkaLibs(); // its jars are there, or a clear error before anything starts
    await assertPortFree('127.0.0.1', opts.kafka.port, 'Kafka', 'PARTFLOW_KAFKA_PORT or --kafka-port');
  }
  const kafkaStart = async (): Promise<KafkaBroker | undefined> => opts.kafka && startKafka({
    port: opts.kafka.port, controllerPort: await freePort(), dataDir: path.join(opts.dataDir, 'kafka'), logDir: opts.logDir ?? path.join(opts.dataDir, 'logs'),
  });
  const started = await Promise.allSettled([startTemporal(cfg, opts), withS3 ? startS3(cfg, opts) : undefined, kafkaStart()]);
  const [temporal, s3, kafka] = started;
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(started.map((r) => (r.status === 'fulfilled' ? r.value?.stop() : undefined)));
    throw failed.reason;
  }
  const t1 = (temporal as PromiseFulfilledResult<Managed>).value;
  const s1 = (s3 as PromiseFulfilledResult<Managed | undefined>).value;
  const k1 = (kafka as PromiseFulfilledResult<KafkaBroker | undefined>).value;
  return {
    temporal: t1, ...(s1 ? { s3: s1 } : {}), ...(k1 ? { kafka: k1 } : {}), uiUrl: `http://${t.host}:${opts.uiPort}`,
    stop: async () => { await Promise.all([t1.stop(), s1?.stop(), k1?.stop()]); },
  };
}

export async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    const name = (err as Error).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
  }
}
