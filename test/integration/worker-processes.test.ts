import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Client } from '@temporalio/client';
import { Type } from 'avsc';
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectClient, startIngest } from '../../src/client';
import { Config } from '../../src/config';
import { PROJECT_ROOT } from '../../src/config/paths';
import { IngestSummary } from '../../src/manifest/run';
import { ensureBucket } from '../../src/stack/embedded';
import { s3Client } from '../../src/storage/client';
import { runOf } from '../helpers/runs';
import { encodeFile } from '../helpers/avro';
import { decodeUrl } from '../helpers/s3';
import { testConfig } from '../helpers/stack';
import { until } from '../helpers/until';

/**
 * `partflow worker --processes 2` (built dist/: `npm run build` first) against the test stack:
 * activities run in two processes, results are exact, a crashed process is restarted, and the
 * supervisor's death (kill -9) or SIGTERM leaves no process behind. Every wait is bounded.
 */
const BUCKET = 'it-worker-procs';
const OBJECTS = 4;
const PER_OBJECT = 10;
const ROW = Type.forSchema({ type: 'record', name: 'Row', fields: [{ name: 'id', type: 'long' }, { name: 'label', type: 'string' }] });
let cfg: Config;
let dir: string;
let client: Client;
let closeClient: () => Promise<void>;
const started: ChildProcess[] = [];
// Started together in beforeAll (each start takes seconds: node, the pipelines, one workflow bundle).
let main: Supervisor;
let term: Supervisor;
let unreachable: Supervisor;
let hung: Supervisor;
let hup: Supervisor;

interface Supervisor { child: ChildProcess; log: string; stderr: () => string }

function startSupervisor(name: string, env: Record<string, string> = {}): Supervisor {
  const log = path.join(dir, `${name}.log`);
  const pids = path.join(dir, `${name}-pids`);
  fs.mkdirSync(pids, { recursive: true });
  const child = spawn('node', ['dist/src/cli/main.js', 'worker', '--processes', '2', '--pipelines', 'test/fixtures/pid-pipelines.js'], {
    cwd: PROJECT_ROOT, stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env, TEMPORAL_ADDRESS: cfg.temporalAddress, AWS_ENDPOINT_URL_S3: cfg.s3.endpoint, PARTFLOW_TASK_QUEUE: cfg.taskQueue,
      PARTFLOW_BUCKET: BUCKET, PARTFLOW_LOG_FILE: log, PARTFLOW_LOG_LEVEL: 'info', PARTFLOW_WORKER_CONCURRENCY: '1', PF_PIDS_DIR: pids, ...env,
    },
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  started.push(child);
  return { child, log, stderr: () => stderr };
}

function logLines(file: string): Record<string, unknown>[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  } catch {
    return [];
  }
}

/** The worker processes that said they were ready, in order: [slot, pid]. */
function ready(s: Supervisor): [number, number][] {
  return logLines(s.log).filter((l) => l.msg === 'worker process ready').map((l) => [l.process as number, l.childPid as number]);
}

async function allReady(s: Supervisor, n: number): Promise<[number, number][]> {
  return until(`${n} ready worker processes`, 90_000, async () => {
    if (s.child.exitCode !== null) throw new Error('exited');
    return ready(s).length >= n ? ready(s) : undefined;
  }).catch((err: Error) => { throw new Error(`${err.message}; supervisor exit ${s.child.exitCode}; stderr: ${s.stderr()}`); });
}

/** Alive, and not a zombie waiting for a reaper. */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function exited(child: ChildProcess, ms: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no exit within ${ms} ms`)), ms);
    child.once('exit', (code) => { clearTimeout(timer); resolve(code); });
  });
}

beforeAll(async () => {
  if (!fs.existsSync(path.join(PROJECT_ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error('run `npm run build` first: this test runs workers from dist/');
  cfg = testConfig(`procs-${process.pid}`, BUCKET);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'partflow-procs-'));
  const s3 = s3Client(cfg.s3);
  await ensureBucket(s3, BUCKET);
  for (let o = 0; o < OBJECTS; o++) {
    const lines = Array.from({ length: PER_OBJECT }, (_, i) => JSON.stringify({ id: o * PER_OBJECT + i, label: 'x' }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `src/o${o}.jsonl`, Body: lines.join('\n') + '\n' }));
    const rows = Array.from({ length: PER_OBJECT }, (_, i) => ({ id: o * PER_OBJECT + i, label: 'x' }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `src-avro/o${o}.avro`, Body: encodeFile(ROW, rows) }));
  }
  const c = await connectClient(cfg);
  client = c.client;
  closeClient = () => c.connection.close();
  main = startSupervisor('main');
  // On a task queue of its own, so that it takes none of the main test's partitions. With four
  // slots per process: the spread test runs on it first, then the SIGTERM test stops it.
  fs.mkdirSync(path.join(dir, 'spread'));
  term = startSupervisor('term', { PARTFLOW_TASK_QUEUE: `${cfg.taskQueue}-term`, PARTFLOW_WORKER_CONCURRENCY: '4', PF_SPREAD_DIR: path.join(dir, 'spread'), PF_SPREAD_WANT: String(OBJECTS) });
  // Port 1 (tcpmux), not a port free now: by the time the processes connect, a server this test
  // or another starts may listen on a port that was free (a non-gRPC listener then holds the connect).
  unreachable = startSupervisor('unreachable', { TEMPORAL_ADDRESS: '127.0.0.1:1' });
  fs.mkdirSync(path.join(dir, 'hang'));
  hung = startSupervisor('hung', { PARTFLOW_TASK_QUEUE: `${cfg.taskQueue}-hung`, PARTFLOW_SHUTDOWN_GRACE: '1s', PF_HANG_DIR: path.join(dir, 'hang') });
  hup = startSupervisor('hup', { PARTFLOW_TASK_QUEUE: `${cfg.taskQueue}-hup` });
});

afterAll(async () => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await closeClient?.();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('partflow worker --processes 2', () => {
  it('runs activities in two processes with exact results, restarts a killed process, and kill -9 of the supervisor leaves none alive', async () => {
    const sup = main;
    const first = await allReady(sup, 2);
    expect(first.map(([slot]) => slot).sort()).toEqual([0, 1]);
    const children = first.map(([, pid]) => pid);
    expect(children).not.toContain(sup.child.pid);

    // One activity per partition, so that both processes can take some (a batch of small ones goes to one).
    const input = { pipeline: 'pids', source: `s3://${BUCKET}/src/`, target: `s3://${BUCKET}/out/`, dataset: 'p', pack: false, maxParallel: OBJECTS, partitionsPerActivity: 1 };
    const handle = await startIngest(client, cfg, input, `procs-${process.pid}`);
    const summary = (await Promise.race([
      handle.result(), new Promise<never>((_, rej) => setTimeout(() => rej(new Error('ingest took over 120 s')), 120_000).unref()),
    ])) as IngestSummary;
    expect(summary.status).toBe('completed');
    expect(summary.stages.stamp.records).toEqual({ in: OBJECTS * PER_OBJECT, out: OBJECTS * PER_OBJECT, rejected: 0, dropped: 0 });

    const run = await runOf(s3Client(cfg.s3), summary);
    expect(run.committed.stamp).toHaveLength(OBJECTS);
    const records: { id: number; label: string }[] = [];
    for (const p of run.committed.stamp) records.push(...(await decodeUrl(s3Client(cfg.s3), p.output)) as { id: number; label: string }[]);
    expect(records.map((r) => Number(r.id)).sort((a, b) => a - b)).toEqual(Array.from({ length: OBJECTS * PER_OBJECT }, (_, i) => i));
    // Every record was stamped by one of the two worker processes, and both took partitions.
    expect([...new Set(records.map((r) => Number(r.label)))].sort()).toEqual([...children].sort());

    // A worker process that dies is restarted with a new pid; the other keeps running.
    const [, victim] = first.find(([slot]) => slot === 1)!;
    process.kill(victim, 'SIGKILL');
    const again = await until('process 1 restarted', 60_000, async () => ready(sup).find(([slot, pid]) => slot === 1 && pid !== victim));
    expect(logLines(sup.log).some((l) => l.process === 1 && l.signal === 'SIGKILL' && /restarting it/.test(String(l.msg)))).toBe(true);
    const survivors = [first.find(([slot]) => slot === 0)![1], again[1]];
    expect(survivors.every(alive)).toBe(true);

    sup.child.kill('SIGKILL');
    await exited(sup.child, 10_000);
    await until('no worker process left after kill -9 of the supervisor', 15_000, async () => (survivors.some(alive) ? undefined : true));
  }, 300_000);

  it('shares partitions out evenly: four held partitions on two processes of four slots each go 2 and 2', async () => {
    const sup = term;
    const pids = (await allReady(sup, 2)).map(([, pid]) => pid);
    // Each partition's setup waits until all four have started, so all four hold a slot at once.
    // With fixed slots, the process that takes the first partition polls again at once and often
    // takes a second and a third; balanced slots let it poll only while it is not ahead.
    // Avro sources: no import activities, so the four stage activities are scheduled together.
    // Imports of flat sources also hold slots and end at different times, and balancing all the
    // running activities may then give one process three of the stage's (seen once in CI).
    const input = { pipeline: 'spread', source: `s3://${BUCKET}/src-avro/`, target: `s3://${BUCKET}/spread/`, dataset: 's', pack: false, maxParallel: OBJECTS, partitionsPerActivity: 1 };
    const handle = await startIngest(client, { ...cfg, taskQueue: `${cfg.taskQueue}-term` }, input, `spread-${process.pid}`);
    const summary = (await Promise.race([
      handle.result(), new Promise<never>((_, rej) => setTimeout(() => rej(new Error('ingest took over 120 s')), 120_000).unref()),
    ])) as IngestSummary;
    expect(summary.status).toBe('completed');
    const started = fs.readdirSync(path.join(dir, 'spread')).map((f) => Number(f.split('.')[0]));
    expect(started).toHaveLength(OBJECTS);
    const perProcess = pids.map((pid) => started.filter((p) => p === pid).length);
    expect(perProcess).toEqual([OBJECTS / 2, OBJECTS / 2]);
  }, 180_000);

  it('SIGTERM stops every process gracefully and exits 0', async () => {
    const sup = term;
    const pids = (await allReady(sup, 2)).map(([, pid]) => pid);
    sup.child.kill('SIGTERM');
    expect(await exited(sup.child, 60_000)).toBe(0);
    expect(pids.filter(alive)).toEqual([]);
    // Each process says that a signal came, with the grace its partitions get, and that it stopped; the supervisor says so last.
    const lines = logLines(sup.log);
    const signalled = lines.filter((l) => l.signal === 'SIGTERM' && typeof l.graceMs === 'number' && /^SIGTERM: stopping the worker; running partitions have [\d.]+s to finish/.test(String(l.msg)));
    expect(signalled.map((l) => l.process).sort()).toEqual([0, 1]);
    expect(lines.filter((l) => l.msg === 'worker stopped').map((l) => l.process).sort()).toEqual([0, 1]);
    expect(lines.some((l) => l.msg === 'SIGTERM: stopping the worker processes')).toBe(true);
    expect(lines[lines.length - 1]?.msg).toBe('worker processes stopped');
  }, 180_000);

  it('SIGHUP (a closed terminal) stops them as gracefully as SIGTERM, and exits 0', async () => {
    const pids = (await allReady(hup, 2)).map(([, pid]) => pid);
    hup.child.kill('SIGHUP');
    expect(await exited(hup.child, 60_000)).toBe(0);
    expect(pids.filter(alive)).toEqual([]);
    const lines = logLines(hup.log);
    expect(lines.some((l) => l.msg === 'SIGHUP: stopping the worker processes')).toBe(true);
    expect(lines.filter((l) => l.msg === 'worker stopped').map((l) => l.process).sort()).toEqual([0, 1]);
  }, 180_000);

  it('SIGTERM stops them within PARTFLOW_SHUTDOWN_GRACE even when a setup never settles and ignores the cancel, logging what it left', async () => {
    const sup = hung;
    const pids = (await allReady(sup, 2)).map(([, pid]) => pid);
    await client.workflow.start('ingest', {
      taskQueue: `${cfg.taskQueue}-hung`, workflowId: `hung-${process.pid}`, workflowExecutionTimeout: '5m',
      args: [{ pipeline: 'hang', source: `s3://${BUCKET}/src-avro/o0.avro`, target: `s3://${BUCKET}/hung/`, heartbeatTimeoutSeconds: 30 }],
    });
    await until('the hanging setup to start', 60_000, async () => (fs.readdirSync(path.join(dir, 'hang')).length > 0 ? true : undefined));
    const t0 = Date.now();
    sup.child.kill('SIGTERM');
    expect(await exited(sup.child, 20_000)).toBe(0);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(pids.filter(alive)).toEqual([]);
    const lines = logLines(sup.log).map((l) => String(l.msg));
    expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/pipeline "hang" stage "stuck" partition p-\w+ .*: the stage's setup had not finished when the attempt was cancelled/)]));
    expect(lines).toContain('the worker stopped; pipeline code it let go of (it ignored the cancel) is still pending: exiting');
  }, 180_000);

  it('exits non-zero with the process\'s own error when worker processes cannot start (Temporal unreachable)', async () => {
    const sup = unreachable;
    expect(await exited(sup.child, 90_000)).toBe(1);
    expect(sup.stderr()).toMatch(/^partflow: worker process \d failed to start, exit code 1: cannot connect to Temporal at 127\.0\.0\.1:\d+/m);
  }, 120_000);
});
