import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Config, loadConfig } from '../../src/config';
import { PROJECT_ROOT } from '../../src/config/paths';
import { ensureBucket, startTemporal } from '../../src/stack/embedded';
import { freePort, Managed } from '../../src/stack/process';
import { s3Client } from '../../src/storage/client';
import { stackInfo } from '../helpers/stack';
import { until } from '../helpers/until';

/**
 * `partflow worker --processes 2` (built dist/: `npm run build` first) while its Temporal server,
 * one of this file's own, is stopped for several seconds: everything the supervisor and its
 * processes print is JSON, the SDK core's poll-retry warnings included. Every wait is bounded.
 */
const BUCKET = 'it-outage-logs';
let cfg: Config;
let dataDir: string;
let uiPort: number;
let temporal: Managed | undefined;
let worker: ChildProcess | undefined;
let output = '';

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-outage-logs-'));
  uiPort = await freePort();
  cfg = loadConfig({ TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`, AWS_ENDPOINT_URL_S3: stackInfo().s3Endpoint, PARTFLOW_TASK_QUEUE: 'outage-logs', PARTFLOW_BUCKET: BUCKET });
  await ensureBucket(s3Client(cfg.s3), BUCKET);
  temporal = await startTemporal(cfg, { dataDir, uiPort });
}, 60_000);

afterAll(async () => {
  if (worker && worker.exitCode === null && worker.signalCode === null) {
    const exited = new Promise((r) => worker!.once('exit', r));
    worker.kill('SIGKILL');
    await exited;
  }
  await temporal?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

function lines(): string[] {
  return output.split('\n').filter((l) => l.trim() !== '');
}

function notJson(): string[] {
  return lines().filter((l) => {
    try {
      return typeof JSON.parse(l) !== 'object';
    } catch {
      return true;
    }
  });
}

it('a Temporal outage leaves only JSON lines in a multi-process worker\'s output, "lost contact" among them', async () => {
  worker = spawn('node', ['dist/src/cli/main.js', 'worker', '--processes', '2'], {
    cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env, TEMPORAL_ADDRESS: cfg.temporalAddress, AWS_ENDPOINT_URL_S3: cfg.s3.endpoint, PARTFLOW_TASK_QUEUE: cfg.taskQueue,
      PARTFLOW_BUCKET: BUCKET, PARTFLOW_LOG_LEVEL: 'info', PARTFLOW_LOG_FILE: '', PARTFLOW_WORKER_CONCURRENCY: '1',
    },
  });
  worker.stdout!.on('data', (d) => (output += d));
  worker.stderr!.on('data', (d) => (output += d));
  await until('two ready worker processes', 90_000, async () => (lines().filter((l) => l.includes('"msg":"worker ready"')).length >= 2 ? true : undefined));

  await temporal!.stop();
  // The worker probes every 10 s; the SDK's polls retry (and core warns) meanwhile.
  await until('"lost contact" from both processes', 30_000, async () => (lines().filter((l) => l.includes('lost contact with Temporal')).length >= 2 ? true : undefined));
  await new Promise((r) => setTimeout(r, 3000));
  // A new UI port: the old one, free during the outage, may have been taken since (an outgoing connection's port).
  temporal = await startTemporal(cfg, { dataDir, uiPort: await freePort() });
  await until('"back in contact"', 30_000, async () => (lines().some((l) => l.includes('back in contact with Temporal')) ? true : undefined));

  const exited = new Promise<number | null>((r) => worker!.once('exit', (code) => r(code)));
  worker.kill('SIGTERM');
  expect(await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), 30_000))])).toBe(0);

  expect(notJson()).toEqual([]);
  const json = lines().map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(json.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('lost contact with Temporal')).length).toBeGreaterThanOrEqual(2);
  // Core's own lines (poll retries) arrive as partflow's JSON, marked as the SDK's.
  expect(json.filter((l) => l.component === 'temporal-sdk' && typeof l.target === 'string' && l.target.startsWith('temporalio_')).length).toBeGreaterThan(0);
}, 180_000);
