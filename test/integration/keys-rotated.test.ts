import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Client } from '@temporalio/client';
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectClient, startIngest } from '../../src/client';
import { Config, loadConfig } from '../../src/config';
import { PROJECT_ROOT } from '../../src/config/paths';
import { IngestSummary } from '../../src/manifest/run';
import { startS3 } from '../../src/stack/embedded';
import { freePort, Managed } from '../../src/stack/process';
import { s3Client } from '../../src/storage/client';
import { decodeUrl } from '../helpers/s3';
import { runOf } from '../helpers/runs';
import { stackInfo } from '../helpers/stack';
import { until } from '../helpers/until';

/**
 * Keys rotated under running workers (built dist/: `npm run build` first). versitygw starts with
 * root keys A; workers start with them and take partitions; versitygw is restarted on the same
 * port and data with keys B, so that A are refused. Each worker with A stops taking partitions,
 * says why, and exits 1 (a multi-process one through its supervisor); one whose planning was
 * refused lets the ingest plan again elsewhere; workers with B finish both runs with no partition
 * failed. Every wait is bounded.
 */
const BUCKET = 'rotated';
const A = { AWS_ACCESS_KEY_ID: 'key-a', AWS_SECRET_ACCESS_KEY: 'secret-a-secret-a' };
const B = { AWS_ACCESS_KEY_ID: 'key-b', AWS_SECRET_ACCESS_KEY: 'secret-b-secret-b' };
const OBJECTS = 12;
const PER_OBJECT = 5;
let dir: string;
let endpoint: string;
let server: Managed | undefined;
let client: Client;
let closeClient: () => Promise<void>;
const started: ChildProcess[] = [];
const queue = `rotated-${process.pid}`;

interface Worker { child: ChildProcess; log: string; stderr: () => string; exit: Promise<number | null> }

function config(keys: Record<string, string>, taskQueue = queue): Config {
  return loadConfig({ AWS_ENDPOINT_URL_S3: endpoint, ...keys, PARTFLOW_BUCKET: BUCKET, TEMPORAL_ADDRESS: stackInfo().temporalAddress, PARTFLOW_TASK_QUEUE: taskQueue });
}

function startWorker(name: string, keys: Record<string, string>, taskQueue: string, processes = 1): Worker {
  return spawnWorker(name, keys, taskQueue, ['dist/src/cli/main.js', 'worker', '--processes', String(processes), '--concurrency', '1', '--pipelines', 'test/fixtures/held-pipelines.js']);
}

function spawnWorker(name: string, keys: Record<string, string>, taskQueue: string, args: string[]): Worker {
  const log = path.join(dir, `${name}.log`);
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && !k.startsWith('PARTFLOW_')));
  const child = spawn('node', args, {
    cwd: PROJECT_ROOT, stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...base, HOME: dir, AWS_EC2_METADATA_DISABLED: 'true', TEMPORAL_ADDRESS: stackInfo().temporalAddress, AWS_ENDPOINT_URL_S3: endpoint, ...keys,
      PARTFLOW_TASK_QUEUE: taskQueue, PARTFLOW_BUCKET: BUCKET, PARTFLOW_LOG_FILE: log, PARTFLOW_LOG_LEVEL: 'info', PARTFLOW_SHUTDOWN_GRACE: '2s',
      PF_SLOW_DIR: path.join(dir, 'marks'), PF_SLOW_MS: '700',
    },
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  started.push(child);
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, log, stderr: () => stderr, exit };
}

function logLines(file: string): Record<string, unknown>[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  } catch {
    return [];
  }
}

const readyCount = (w: Worker) => logLines(w.log).filter((l) => l.msg === 'worker ready').length;

async function ready(w: Worker, n = 1): Promise<void> {
  await until(`${n} ready worker processes`, 90_000, async () => {
    if (w.child.exitCode !== null) throw new Error(`exited ${w.child.exitCode}: ${w.stderr()}`);
    return readyCount(w) >= n ? true : undefined;
  });
}

function exitWithin(w: Worker, ms: number): Promise<number | null> {
  return Promise.race([w.exit, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`no exit within ${ms} ms; stderr: ${w.stderr()}`)), ms).unref())]);
}

function resultWithin(handle: { result(): Promise<unknown> }, ms: number): Promise<IngestSummary> {
  return Promise.race([handle.result() as Promise<IngestSummary>, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`no result within ${ms} ms`)), ms).unref())]);
}

async function startStore(keys: Record<string, string>): Promise<void> {
  server = await startS3(config(keys), { dataDir: path.join(dir, 'data'), uiPort: 0, logDir: path.join(dir, 'logs') });
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const refusal = (q: string) => new RegExp(`S3 refuses this running worker: GetObject s3://${BUCKET}/[^ ]*: S3 at ${esc(endpoint)} refused the credentials of access key ID key-a \\(XAdminUserNotFound: [^)]*\\): .*`
  + `\\. This worker stops taking partitions from task queue ${esc(q)}; fix its credentials and start it again`);

beforeAll(async () => {
  if (!fs.existsSync(path.join(PROJECT_ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error('run `npm run build` first: this test runs workers from dist/');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-rotated-'));
  fs.mkdirSync(path.join(dir, 'marks'));
  endpoint = `http://127.0.0.1:${await freePort()}`;
  await startStore(A);
  const s3 = s3Client(config(A).s3);
  for (let o = 0; o < OBJECTS; o++) {
    const lines = Array.from({ length: PER_OBJECT }, (_, i) => JSON.stringify({ id: o * PER_OBJECT + i, label: 'x' }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `src/o${o}.jsonl`, Body: lines.join('\n') + '\n' }));
  }
  const c = await connectClient(config(A));
  client = c.client;
  closeClient = () => c.connection.close();
});

afterAll(async () => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await closeClient?.();
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('workers whose keys are rotated stop with the refusal and exit 1; healthy workers finish the runs, no partition failed', async () => {
  const idleQueue = `${queue}-idle`;
  const libraryQueue = `${queue}-library`;
  // Running a run's partitions, in two processes; idle on a queue of its own, to plan the next
  // run; and a library's createWorker, on a third queue.
  const busy = startWorker('busy', A, queue, 2);
  const idle = startWorker('idle', A, idleQueue);
  const library = spawnWorker('library', A, libraryQueue, ['test/fixtures/library-worker.js']);
  await Promise.all([ready(busy, 2), ready(idle), ready(library)]);

  const input = (target: string) => ({ pipeline: 'held', source: `s3://${BUCKET}/src/`, target: `s3://${BUCKET}/${target}/`, dataset: target, pack: false, maxParallel: OBJECTS, partitionsPerActivity: 1 });
  const first = await startIngest(client, config(A), input('first'), `rotated-first-${process.pid}`);
  await until('stamp partitions started on the busy worker', 60_000, async () => (fs.readdirSync(path.join(dir, 'marks')).length >= 2 ? true : undefined));

  // The rotation: the same store, port and data, with other root keys.
  await server!.stop();
  await startStore(B);
  const rotatedAt = Date.now();

  // The busy worker meets the refusal in a partition: its supervisor stops both processes and exits 1 with it.
  expect(await exitWithin(busy, 60_000)).toBe(1);
  expect(busy.stderr()).toMatch(new RegExp(`^partflow: worker process [01] stopped: ${refusal(queue).source}\\n$`));
  // Each process says it once, at error, with the endpoint and the task queue.
  const said = logLines(busy.log).filter((l) => typeof l.msg === 'string' && refusal(queue).test(l.msg));
  expect(said.length).toBeGreaterThanOrEqual(1);
  expect(new Set(said.map((l) => l.process)).size).toBe(said.length);
  for (const l of said) expect(l).toMatchObject({ level: 50, endpoint, taskQueue: queue });
  expect(logLines(busy.log).some((l) => l.msg === 'worker processes stopped after a failure')).toBe(true);
  expect(Date.now() - rotatedAt).toBeLessThan(30_000);

  // The idle worker is handed the next run's planning: refused, it stops too, and the planning waits for another worker.
  const second = await startIngest(client, config(B, idleQueue), input('second'), `rotated-second-${process.pid}`);
  expect(await exitWithin(idle, 60_000)).toBe(1);
  expect(idle.stderr()).toMatch(new RegExp(`^partflow: ${refusal(idleQueue).source}\\n$`));
  expect(logLines(idle.log).filter((l) => typeof l.msg === 'string' && refusal(idleQueue).test(l.msg))).toHaveLength(1);

  // The library's worker stops too: its run() returns, and the refusal says why.
  const third = await startIngest(client, config(B, libraryQueue), input('third'), `rotated-third-${process.pid}`);
  expect(await exitWithin(library, 60_000)).toBe(3);
  expect(library.stderr()).toMatch(new RegExp(`^stopped: GetObject s3://${BUCKET}/[^ ]*: S3 at ${esc(endpoint)} refused the credentials of access key ID key-a \\(XAdminUserNotFound: `));
  await third.terminate('no worker with these keys is left on its queue');

  // Restarted with the old keys, a worker now refuses to start (what a process manager shows until it is fixed).
  const again = startWorker('again', A, queue);
  expect(await exitWithin(again, 60_000)).toBe(1);
  expect(again.stderr()).toMatch(/^partflow: the worker did not start: .*refused the credentials of access key ID key-a/);

  // Workers with the new keys finish both runs: every partition done, none failed.
  const healthy = startWorker('healthy', B, queue);
  const healthyIdle = startWorker('healthy-idle', B, idleQueue);
  for (const [handle, target, w] of [[first, 'first', healthy], [second, 'second', healthyIdle]] as const) {
    const summary = await resultWithin(handle, 120_000);
    expect(summary.status).toBe('completed');
    expect(summary.stages.stamp).toMatchObject({ succeeded: OBJECTS, failed: 0, blocked: 0, records: { in: OBJECTS * PER_OBJECT, out: OBJECTS * PER_OBJECT, rejected: 0, dropped: 0 } });
    const run = await runOf(s3Client(config(B).s3), summary);
    const records: { id: number; label: string }[] = [];
    for (const p of run.committed.stamp) records.push(...(await decodeUrl(s3Client(config(B).s3), p.output)) as { id: number; label: string }[]);
    expect(records.map((r) => Number(r.id)).sort((a, b) => a - b)).toEqual(Array.from({ length: OBJECTS * PER_OBJECT }, (_, i) => i));
    // The second run was planned and run by the healthy worker alone.
    if (target === 'second') expect(new Set(records.map((r) => r.label))).toEqual(new Set([String(w.child.pid)]));
  }
}, 400_000);
