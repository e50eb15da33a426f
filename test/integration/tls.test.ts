import { PutObjectCommand } from '@aws-sdk/client-s3';
import { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectClient, startIngest } from '../../src/client';
import { Config, loadConfig } from '../../src/config';
import { PROJECT_ROOT } from '../../src/config/paths';
import { IngestSummary } from '../../src/manifest/run';
import { copyPipeline } from '../../src/pipelines/copy';
import { ensureBucket } from '../../src/stack/embedded';
import { s3Client } from '../../src/storage/client';
import { connectTemporal } from '../../src/temporal/connect';
import { bundleWorkflows, createWorker } from '../../src/worker/worker';
import { stackInfo } from '../helpers/stack';
import { grpcRecordingProxy, makePki, Proxy, TestPki, tlsProxy } from '../helpers/tls';

/**
 * Temporal's connection conventions against a TLS endpoint: the dev server has no TLS, so a
 * terminator made here (with a CA made here) stands in front of it.
 */
const BUCKET = 'it-tls';
let pki: TestPki;
let dir: string;
let bundle: WorkflowBundleWithSourceMap;
const proxies: Proxy[] = [];

function env(extra: Record<string, string>): Config {
  const info = stackInfo();
  return loadConfig({ AWS_ENDPOINT_URL_S3: info.s3Endpoint, PARTFLOW_BUCKET: BUCKET, PARTFLOW_TASK_QUEUE: `tls-${process.pid}`, ...extra });
}

/** The built CLI with only these settings (no developer profile or keys leak in). */
function cli(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('node', ['dist/src/cli/main.js', ...args], {
      cwd: PROJECT_ROOT, timeout: 60_000,
      env: { PATH: process.env.PATH, HOME: dir, AWS_ENDPOINT_URL_S3: stackInfo().s3Endpoint, PARTFLOW_LOG_LEVEL: 'error', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function proxy(p: Promise<Proxy>): Promise<Proxy> {
  const px = await p;
  proxies.push(px);
  return px;
}

/** Runs a one-partition ingest with a worker and a client both connected as cfg says. */
async function ingestThrough(cfg: Config, dataset: string): Promise<IngestSummary> {
  const { worker, connection } = await createWorker({ config: cfg, pipelines: [copyPipeline], workflowBundle: bundle, concurrency: 2 });
  const running = worker.run();
  const { client, connection: clientConn } = await connectClient(cfg);
  try {
    const handle = await startIngest(client, cfg, { pipeline: 'copy', source: `s3://${BUCKET}/src/`, target: `s3://${BUCKET}/out/`, dataset }, `tls-${dataset}-${process.pid}`);
    return await Promise.race([
      handle.result() as Promise<IngestSummary>,
      new Promise<never>((_, rej) => setTimeout(() => rej(new Error('ingest over TLS took over 60 s')), 60_000).unref()),
    ]);
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
    await clientConn.close();
  }
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'partflow-tls-'));
  pki = makePki(dir);
  bundle = await bundleWorkflows();
  const cfg = env({});
  await ensureBucket(s3Client(cfg.s3), BUCKET);
  await s3Client(cfg.s3).send(new PutObjectCommand({ Bucket: BUCKET, Key: 'src/a.jsonl', Body: '{"id":1,"label":"one"}\n{"id":2,"label":"two"}\n' }));
});

afterAll(async () => {
  for (const p of proxies) await p.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('connecting to Temporal by its conventions', () => {
  it('TLS with the server CA from TEMPORAL_TLS_SERVER_CA_CERT_PATH: a worker and a client run an ingest', async () => {
    const px = await proxy(tlsProxy(pki, stackInfo().temporalAddress));
    const cfg = env({ TEMPORAL_ADDRESS: `127.0.0.1:${px.port}`, TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert });
    expect(Buffer.from((cfg.temporal.tls as { serverRootCACertificate: Uint8Array }).serverRootCACertificate).toString()).toContain('BEGIN CERTIFICATE');
    const summary = await ingestThrough(cfg, 'tls');
    expect(summary.status).toBe('completed');
    expect(summary.stages.copy.records).toMatchObject({ in: 2, out: 2 });
  });

  it('without TLS settings, a TLS endpoint refuses the plaintext client with a clear error', async () => {
    const px = await proxy(tlsProxy(pki, stackInfo().temporalAddress));
    const cfg = env({ TEMPORAL_ADDRESS: `127.0.0.1:${px.port}` });
    await expect(connectTemporal(cfg.temporal, { connectTimeout: 3_000 })).rejects.toThrow(`cannot connect to Temporal at 127.0.0.1:${px.port} (namespace default, no TLS`);
  });

  describe('mTLS', () => {
    let px: Proxy;
    beforeAll(async () => { px = await proxy(tlsProxy(pki, stackInfo().temporalAddress, { mtls: true })); });

    it('without a client certificate the connection fails, naming the endpoint', async () => {
      const cfg = env({ TEMPORAL_ADDRESS: `127.0.0.1:${px.port}`, TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert });
      await expect(connectTemporal(cfg.temporal, { connectTimeout: 3_000 })).rejects.toThrow(`cannot connect to Temporal at 127.0.0.1:${px.port} (namespace default, TLS;`);
    });

    it('with TEMPORAL_TLS_CLIENT_CERT_PATH/KEY_PATH a worker and a client run an ingest', async () => {
      const cfg = env({
        TEMPORAL_ADDRESS: `127.0.0.1:${px.port}`, TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert,
        TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCert, TEMPORAL_TLS_CLIENT_KEY_PATH: pki.clientKey,
      });
      const summary = await ingestThrough(cfg, 'mtls');
      expect(summary.status).toBe('completed');
      expect(px.seen).toContain('partflow-worker');
    });

    it('the CLI connects the same way (needs `npm run build`), and says where it could not', async () => {
      const base = { TEMPORAL_ADDRESS: `127.0.0.1:${px.port}`, TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert };
      const mtls = { ...base, TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCert, TEMPORAL_TLS_CLIENT_KEY_PATH: pki.clientKey };
      // `status` queries the run's progress, which takes a worker.
      const { worker, connection } = await createWorker({ config: env(mtls), pipelines: [copyPipeline], workflowBundle: bundle });
      const running = worker.run();
      let ok: Awaited<ReturnType<typeof cli>>;
      try {
        ok = await cli(mtls, 'status', `tls-mtls-${process.pid}`, '--json');
      } finally {
        worker.shutdown();
        await running;
        await connection.close();
      }
      expect([ok.code, ok.stderr.includes('partflow:')]).toEqual([0, false]);
      expect(JSON.parse(ok.stdout)).toMatchObject({ status: 'COMPLETED', result: { status: 'completed' } });
      const refused = await cli(base, 'status', `tls-mtls-${process.pid}`);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain(`cannot connect to Temporal at 127.0.0.1:${px.port} (namespace default, TLS;`);
    });
  });

  it('TEMPORAL_API_KEY reaches the server as a Bearer token (client and worker), over TLS', async () => {
    const px = await proxy(grpcRecordingProxy(pki, stackInfo().temporalAddress));
    const cfg = env({ TEMPORAL_ADDRESS: `127.0.0.1:${px.port}`, TEMPORAL_API_KEY: 'pf-test-key', TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert });
    const { client, connection } = await connectClient(cfg);
    try {
      const sys = await client.workflowService.getSystemInfo({});
      expect(sys.serverVersion).toBeTruthy();
    } finally {
      await connection.close();
    }
    const summary = await ingestThrough(cfg, 'apikey');
    expect(summary.status).toBe('completed');
    expect(px.seen.length).toBeGreaterThan(3);
    expect(new Set(px.seen)).toEqual(new Set(['Bearer pf-test-key']));
  });

  it('a profile of the TOML config file (TEMPORAL_CONFIG_FILE + TEMPORAL_PROFILE) selects address, namespace and TLS', async () => {
    const px = await proxy(tlsProxy(pki, stackInfo().temporalAddress));
    const file = path.join(dir, 'temporal.toml');
    fs.writeFileSync(file, [
      '[profile.default]', 'address = "127.0.0.1:1"', '',
      '[profile.staging]', `address = "127.0.0.1:${px.port}"`, 'namespace = "default"', '',
      '[profile.staging.tls]', `server_ca_cert_path = "${pki.caCert}"`, 'server_name = "localhost"', '',
    ].join('\n'));
    const cfg = env({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'staging' });
    expect(cfg.temporalAddress).toBe(`127.0.0.1:${px.port}`);
    expect(cfg.temporal.tls).toMatchObject({ serverNameOverride: 'localhost' });
    const conn = await connectTemporal(cfg.temporal);
    try {
      expect((await conn.workflowService.getSystemInfo({})).serverVersion).toBeTruthy();
    } finally {
      await conn.close();
    }
    // Environment variables override the profile, as in the temporal CLI.
    expect(env({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'staging', TEMPORAL_NAMESPACE: 'other' }).temporalNamespace).toBe('other');
    expect(() => env({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod' })).toThrow(`cannot load the Temporal connection settings (profile "prod" of ${file}): Profile 'prod' not found in config data (${file} has the profiles default, staging)`);
  });
});
