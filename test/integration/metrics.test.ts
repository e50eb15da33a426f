import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Client } from '@temporalio/client';
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectClient, startIngest } from '../../src/client';
import { Config } from '../../src/config';
import { PROJECT_ROOT } from '../../src/config/paths';
import { IngestSummary } from '../../src/manifest/run';
import { ensureBucket } from '../../src/stack/embedded';
import { freePort } from '../../src/stack/process';
import { s3Client } from '../../src/storage/client';
import { testConfig } from '../helpers/stack';
import { until } from '../helpers/until';

/**
 * A worker with PARTFLOW_METRICS_PORT, scraped during and after an ingest (needs `npm run build`).
 * It runs two processes, so /metrics is the supervisor's sum of both.
 */
const BUCKET = 'it-metrics';
let cfg: Config;
let dir: string;
let port: number;
let worker: ChildProcess;
let client: Client;
let closeClient: () => Promise<void>;

async function scrape(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  return res.text();
}

/** The value of one sample, 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (m && m[1] === name && want.every((w) => (m[2] ?? '').split(',').includes(w))) return Number(m[3]);
  }
  return 0;
}

beforeAll(async () => {
  cfg = testConfig(`metrics-${process.pid}`, BUCKET);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'partflow-metrics-'));
  const s3 = s3Client(cfg.s3);
  await ensureBucket(s3, BUCKET);
  const lines = (ids: number[], bad: number[] = []) => ids.map((id) => JSON.stringify({ id, label: bad.includes(id) ? 'bad' : `l${id}` })).join('\n') + '\n';
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'src/a.jsonl', Body: lines([1, 2, 3, 4, 5, 6, 7, 8], [4]) }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'src/b.jsonl', Body: lines([10, 11, 12, 13, 14]) }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'src/slow.jsonl', Body: lines([20, 21, 22], [22]) }));
  port = await freePort();
  worker = spawn('node', ['dist/src/cli/main.js', 'worker', '--pipelines', 'test/fixtures/metered-pipelines.js'], {
    cwd: PROJECT_ROOT, stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env, TEMPORAL_ADDRESS: cfg.temporalAddress, AWS_ENDPOINT_URL_S3: cfg.s3.endpoint, PARTFLOW_TASK_QUEUE: cfg.taskQueue,
      PARTFLOW_BUCKET: BUCKET, PARTFLOW_METRICS_PORT: String(port), PARTFLOW_WORKER_PROCESSES: '2', PARTFLOW_LOG_LEVEL: 'error', PF_RELEASE: path.join(dir, 'release'),
    },
  });
  let stderr = '';
  worker.stderr!.on('data', (d) => (stderr += d));
  await until('the worker to serve /metrics', 60_000, async () => {
    if (worker.exitCode !== null) throw new Error(`worker exited: ${stderr}`);
    return (await fetch(`http://127.0.0.1:${port}/metrics`)).ok ? true : undefined;
  }).catch((err: Error) => { throw new Error(`${err.message}; worker stderr: ${stderr}`); });
  const c = await connectClient(cfg);
  client = c.client;
  closeClient = () => c.connection.close();
});

afterAll(async () => {
  if (worker && worker.exitCode === null) {
    const exited = new Promise((r) => worker.once('exit', r));
    worker.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000).unref())]);
    if (worker.exitCode === null) worker.kill('SIGKILL');
  }
  await closeClient?.();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('worker metrics (PARTFLOW_METRICS_PORT)', () => {
  it('has every stage\'s partition series at 0 before any run, so that an alert on increase() sees the first failure', async () => {
    const text = await until('both processes to answer', 60_000, async () => {
      const t = await scrape();
      return ['0', '1'].every((p) => t.includes(`partflow_process="${p}"`)) ? t : undefined;
    });
    const zero = (name: string, labels: string) => new RegExp(`^${name}\\{[^}]*${labels}[^}]*\\} 0$`, 'm');
    for (const stage of ['raw', 'upper', 'keep']) {
      expect(text).toMatch(zero('partflow_partition_failures_total', `pipeline="metered",stage="${stage}",type="TransformFailed"`));
      expect(text).toMatch(zero('partflow_partitions_committed_total', `pipeline="metered",stage="${stage}"`));
    }
  });

  it('serves partflow and Temporal SDK metrics during an ingest, and counters that match its result after', async () => {
    // The held partition sends no heartbeat while it waits: give it room.
    // One activity per partition: in a batch, the held partition would hold back a.jsonl and b.jsonl too.
    const input = { pipeline: 'metered', source: `s3://${BUCKET}/src/`, target: `s3://${BUCKET}/out/`, dataset: 'm', pack: false, heartbeatTimeoutSeconds: 300, partitionsPerActivity: 1 };
    const handle = await startIngest(client, cfg, input, `metrics-${process.pid}`);
    // During: two partitions are through, slow.jsonl is held in `keep`.
    const during = await until('a.jsonl and b.jsonl through upper', 60_000, async () => {
      const text = await scrape();
      // ... and both processes answer (the activity-only one may start later than the other).
      const both = ['0', '1'].every((p) => text.includes(`partflow_process="${p}"`));
      return both && sample(text, 'partflow_partitions_committed_total', { pipeline: 'metered', stage: 'upper' }) === 2 ? text : undefined;
    });
    expect(sample(during, 'partflow_partitions_committed_total', { pipeline: 'metered', stage: 'keep' })).toBe(2);
    expect(sample(during, 'partflow_records_in_total', { pipeline: 'metered', stage: 'keep' })).toBe(13);
    // The Temporal SDK's runtime metrics, from core's exporter, in the same response.
    expect(during).toMatch(/^temporal_\w+/m);
    expect(during).toMatch(/^temporal_worker_task_slots_available\{/m);
    // The SDK's series of each process, told apart by a label. (Activity slots are shared out
    // over the processes by a custom slot supplier, for which the SDK reports slots used only.)
    for (const p of ['0', '1']) expect(during).toMatch(new RegExp(`^temporal_worker_task_slots_used\\{.*worker_type="ActivityWorker".*partflow_process="${p}"`, 'm'));
    expect(during).toMatch(/^partflow_process_cpu_seconds_total /m);
    fs.writeFileSync(path.join(dir, 'release'), '');

    const summary = (await Promise.race([
      handle.result(), new Promise<never>((_, rej) => setTimeout(() => rej(new Error('ingest took over 90 s')), 90_000).unref()),
    ])) as IngestSummary;
    expect(summary.status).toBe('completed');
    const after = await scrape();
    for (const [stage, s] of Object.entries(summary.stages)) {
      const l = { pipeline: 'metered', stage };
      for (const k of ['in', 'out', 'rejected', 'dropped'] as const) {
        expect([stage, k, sample(after, `partflow_records_${k}_total`, l)]).toEqual([stage, k, s.records[k]]);
      }
      expect(sample(after, 'partflow_partitions_committed_total', l)).toBe(s.succeeded - s.skipped);
      expect(sample(after, 'partflow_partition_duration_seconds_count', l)).toBe(s.succeeded - s.skipped);
      expect([stage, sample(after, 'partflow_bytes_written_total', l) > 0, sample(after, 'partflow_bytes_read_total', l) > 0]).toEqual([stage, true, true]);
    }
    // What the data says: keep read 16 records, rejected the two "bad" ones, dropped the other odd ids (7).
    expect(summary.stages.keep.records).toEqual({ in: 16, out: 7, rejected: 2, dropped: 7 });
    expect(sample(after, 'partflow_partition_failures_total', { pipeline: 'metered' })).toBe(0);
  });

  it('answers other paths with 404, and a second ingest of the same data counts reused partitions', async () => {
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(404);
    const handle = await startIngest(client, cfg, { pipeline: 'metered', source: `s3://${BUCKET}/src/`, target: `s3://${BUCKET}/out/`, dataset: 'm', pack: false, partitionsPerActivity: 1 }, `metrics-again-${process.pid}`);
    const summary = (await handle.result()) as IngestSummary;
    expect(summary.stages.upper.skipped).toBe(3);
    const text = await scrape();
    expect(sample(text, 'partflow_partitions_reused_total', { pipeline: 'metered', stage: 'upper' })).toBe(3);
    expect(sample(text, 'partflow_partitions_committed_total', { pipeline: 'metered', stage: 'upper' })).toBe(3);
  });
});
