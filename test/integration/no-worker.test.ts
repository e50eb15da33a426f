import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Client } from '@temporalio/client';
import { Type } from 'avsc';
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import { connectClient } from '../../src/client';
import { Config } from '../../src/config';
import { PROJECT_ROOT } from '../../src/config/paths';
import { ensureBucket } from '../../src/stack/embedded';
import { s3Client } from '../../src/storage/client';
import { encodeFile } from '../helpers/avro';
import { runCli } from '../helpers/cli';
import { testConfig } from '../helpers/stack';
import { until } from '../helpers/until';

/**
 * status, partitions and ingest --wait on a run whose workers went away mid-run, and on a task
 * queue no worker ever polled (built dist/: `npm run build` first): they say that progress needs
 * a running worker, quickly, and still print what Temporal knows without one. Every wait is bounded.
 */
const BUCKET = 'it-no-worker';
const ROW = Type.forSchema({ type: 'record', name: 'Row', fields: [{ name: 'id', type: 'long' }, { name: 'label', type: 'string' }] });
let cfg: Config;
let client: Client;
let closeClient: () => Promise<void>;
const started: ChildProcess[] = [];
const runs: string[] = [];

function cli(args: string[], env: Record<string, string> = {}): { child: ChildProcess; out: () => string } {
  const child = spawn('node', ['dist/src/cli/main.js', ...args], {
    cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env, TEMPORAL_ADDRESS: cfg.temporalAddress, AWS_ENDPOINT_URL_S3: cfg.s3.endpoint, PARTFLOW_TASK_QUEUE: cfg.taskQueue,
      PARTFLOW_BUCKET: BUCKET, PARTFLOW_LOG_LEVEL: 'info', ...env,
    },
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  started.push(child);
  return { child, out: () => out };
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t = Date.now();
  const r = await f();
  return [r, Date.now() - t];
}

beforeAll(async () => {
  if (!fs.existsSync(`${PROJECT_ROOT}/dist/src/cli/main.js`)) throw new Error('run `npm run build` first: this test runs the CLI from dist/');
  cfg = testConfig(`no-worker-${process.pid}`, BUCKET);
  const s3 = s3Client(cfg.s3);
  await ensureBucket(s3, BUCKET);
  for (let o = 0; o < 2; o++) {
    const rows = Array.from({ length: 2000 }, (_, i) => ({ id: o * 2000 + i + 1, label: 'x' }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `src/o${o}.avro`, Body: encodeFile(ROW, rows) }));
  }
  const c = await connectClient(cfg);
  client = c.client;
  closeClient = () => c.connection.close();
});

afterAll(async () => {
  await Promise.all(started.map(killed));
  for (const id of runs) await client.workflow.getHandle(id).terminate('test over').catch(() => undefined);
  await closeClient?.();
});

it('workers gone mid-run: ingest --wait says so once and goes on waiting; status and partitions say so within seconds', async () => {
  // slowreject crawls (20 ms a record) past record 1: each partition takes about 40 s.
  const worker = cli(['worker', '--processes', '1', '--pipelines', 'test/fixtures/slow-pipelines.js'], { PF_CRAWL_AFTER: '1', PARTFLOW_LOG_LEVEL: 'error' });
  const id = `gone-${process.pid}`;
  runs.push(id);
  const ingest = cli(['ingest', 'slowreject', '--source', `s3://${BUCKET}/src/`, '--target', `s3://${BUCKET}/out/`, '--no-pack', '--workflow-id', id, '--wait']);
  await until('progress from the worker', 90_000, async () => (/\[running\] copy 0\/2/.test(ingest.out()) ? true : undefined));
  await killed(worker.child);

  // The first query without a worker ends at its deadline (10 s): the note follows, once.
  const note = /no worker (on|polls) task queue "no-worker-\d+" \(namespace default\).*: progress needs a running worker \(start one with `partflow worker`.*\); the run waits in Temporal; still waiting/;
  await until('the no-worker note from ingest --wait', 40_000, async () => (note.test(ingest.out()) ? true : undefined));
  await new Promise((r) => setTimeout(r, 12_000));
  expect(ingest.out().split('\n').filter((l) => note.test(l))).toHaveLength(1);
  expect(ingest.child.exitCode).toBeNull();
  await killed(ingest.child);

  const [status, statusMs] = await timed(() => runCli(cfg, 'status', id));
  expect(status.code).toBe(0);
  expect(status.stdout).toMatch(new RegExp(`^${id}  RUNNING  started \\d{4}-`));
  expect(status.stdout).toMatch(/progress needs a running worker \(start one with `partflow worker`.*\); the run waits in Temporal/);
  expect(statusMs).toBeLessThan(20_000);

  const [parts, partsMs] = await timed(() => runCli(cfg, 'partitions', id));
  expect(parts.code).toBe(1);
  expect(parts.stderr).toMatch(new RegExp(`the partitions of ${id} come from its workflow, which only a worker answers for: no worker .*progress needs a running worker`));
  expect(parts.stderr).not.toMatch(/Failed to query Workflow/);
  expect(partsMs).toBeLessThan(30_000);
}, 200_000);

it('a queue no worker polls: status answers at once, with the run\'s state, start and the note', async () => {
  const id = `lonely-${process.pid}`;
  runs.push(id);
  await client.workflow.start('ingest', { taskQueue: `nobody-${process.pid}`, workflowId: id, args: [{ pipeline: 'copy', source: `s3://${BUCKET}/src/` }] });
  const [status, ms] = await timed(() => runCli(cfg, 'status', id));
  expect(status.code).toBe(0);
  expect(status.stdout).toMatch(new RegExp(`^${id}  RUNNING  started \\d{4}-`));
  expect(status.stdout).toContain(`no worker polls task queue "nobody-${process.pid}" (namespace default): progress needs a running worker`);
  expect(ms).toBeLessThan(8_000);

  const json = await runCli(cfg, 'status', id, '--json');
  expect(JSON.parse(json.stdout)).toMatchObject({ workflowId: id, status: 'RUNNING', startTime: expect.any(String), noWorker: expect.stringContaining('no worker polls task queue') });

  const parts = await runCli(cfg, 'partitions', id);
  expect(parts.code).toBe(1);
  expect(parts.stderr).toContain(`only a worker answers for: no worker polls task queue "nobody-${process.pid}"`);

  // A cancel is held until a worker runs the run's code: said, rather than "its partitions are cancelled" alone.
  const cancel = await runCli(cfg, 'cancel', id);
  expect(cancel.code).toBe(0);
  expect(cancel.stderr).toBe(`note: no worker polls task queue "nobody-${process.pid}" (namespace default): ${id} stays running, holding the cancel, until one does (start one with \`partflow worker\` and the same PARTFLOW_TASK_QUEUE, TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE)\n`);
}, 120_000);
