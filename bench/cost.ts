/**
 * Per-partition cost (issue #11 item 4): N one-object partitions of 1,000 records through `copy`
 * (pack: false), on a worker in its own process. Prints, per partition:
 * - CPU of the worker process, of the Temporal server and of versitygw (from /proc/<pid>/stat),
 *   and the worker's split by thread (main, node's unnamed helper threads, the SDK's Rust core);
 * - S3 requests by kind, counted by a pass-through proxy between the worker and versitygw (so
 *   nothing in the worker is instrumented).
 *
 *   npm run bench -- cost
 *   PARTFLOW_BENCH_COST_N=2000 npm run bench -- cost
 *   PARTFLOW_BENCH_COST_PROFILE=/tmp/prof npm run bench -- cost   # also node --cpu-prof on the worker
 *   PARTFLOW_BENCH_COST_EAGER=1 npm run bench -- cost             # also with eager activity dispatch
 *   PARTFLOW_BENCH_COST_PER_ACTIVITY=1 npm run bench -- cost      # partitionsPerActivity (default: the ingest's, 16)
 *   PARTFLOW_BENCH_COST_WARM=500 npm run bench -- cost            # partitions of the warm-up ingest before the measured one (default 5)
 *   PARTFLOW_BENCH_WORKER_NODE_ARGS="--max-semi-space-size=32" npm run bench -- cost   # options to the worker's node
 *   PARTFLOW_BENCH_COST_TIDS=1 npm run bench -- cost              # the worker's threads one by one, not summed by name
 *
 * Node 20 names none of its threads: V8's platform workers (GC, the optimizing compiler) are the
 * first "node" threads after the main one (lowest ids); libuv's pool and the SDK's workflow
 * thread come later.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import pLimit from 'p-limit';
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Config, loadConfig } from '../src/config';
import { PROJECT_ROOT } from '../src/config/paths';
import { IngestSummary } from '../src/manifest/run';
import { EmbeddedStack, startEmbeddedStack } from '../src/stack/embedded';
import { freePort } from '../src/stack/process';
import { s3Client } from '../src/storage/client';
import { threadCpuSeconds, treeCpuSeconds } from './compare/procstat';
import { feed } from './partitions';

/** User+system CPU of a process and its descendants, in ms. */
const processTreeCpuMs = (pid: number): number => treeCpuSeconds(pid) * 1000;

/**
 * The worker's CPU over a window, split by thread: its main thread (the activities), the Temporal
 * SDK's Rust core (threads named tokio-*), and every other thread, which node leaves unnamed:
 * V8's helpers (concurrent GC marking and sweeping, the optimizing compiler), the SDK's workflow
 * thread, libuv's pool.
 */
function threadSplitMs(pid: number, before: ReturnType<typeof threadCpuSeconds>, after: ReturnType<typeof threadCpuSeconds>): Record<'main' | 'core' | 'other', number> & { byName: Map<string, number> } {
  const out = { main: 0, core: 0, other: 0, byName: new Map<string, number>() };
  for (const [tid, t] of after) {
    const ms = (t.cpuSeconds - (before.get(tid)?.cpuSeconds ?? 0)) * 1000;
    out[tid === pid ? 'main' : t.name.startsWith('tokio') ? 'core' : 'other'] += ms;
    // Names repeat (node's helpers share a few); numbered ones (tokio-runtime-worker-3) are summed under their stem.
    const name = tid === pid ? '(main)' : process.env.PARTFLOW_BENCH_COST_TIDS ? `${t.name} ${tid}` : t.name.replace(/[-_ ]?\d+$/, '');
    out.byName.set(name, (out.byName.get(name) ?? 0) + ms);
  }
  return out;
}

type Row = Record<string, string | number>;

/** What kind of S3 request this is, from its method, key and query. */
function kind(req: http.IncomingMessage): string {
  const url = new URL(req.url ?? '/', 'http://x');
  const q = url.searchParams;
  const key = url.pathname;
  const what = key.includes('/_plans/') ? 'plan' : key.endsWith('.json') ? 'manifest' : key.includes('/_partflow/probe/') ? 'probe' : key.endsWith('.rejects.avro') ? 'rejects' : key.endsWith('.avro') ? 'avro' : 'other';
  if (q.has('uploads')) return `CreateMultipartUpload ${what}`;
  if (q.has('uploadId')) return `${req.method === 'PUT' ? 'UploadPart' : req.method === 'POST' ? 'CompleteMultipartUpload' : req.method === 'DELETE' ? 'AbortMultipartUpload' : 'ListParts'} ${what}`;
  if (q.has('list-type') || (req.method === 'GET' && key.split('/').filter(Boolean).length <= 1)) return 'List';
  return `${req.method} ${what}`;
}

/** A pass-through proxy to the S3 endpoint that counts requests (and their answers) by kind. */
async function countingProxy(target: string): Promise<{ url: string; counts: Map<string, number>; close(): Promise<void> }> {
  const t = new URL(target);
  const counts = new Map<string, number>();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const server = http.createServer((req, res) => {
    const k = kind(req);
    const up = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers, agent }, (r) => {
      const name = r.statusCode && r.statusCode >= 300 ? `${k} -> ${r.statusCode}` : k;
      counts.set(name, (counts.get(name) ?? 0) + 1);
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', (err) => {
      res.destroy(err);
    });
    req.pipe(up);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`, counts,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); agent.destroy(); }),
  };
}

/** Now on the monotonic clock, in µs: the clock of .cpuprofile timestamps, the same in every process. */
const monoUs = () => Number(process.hrtime.bigint() / 1000n);

/**
 * Summarises a .cpuprofile over the window [from, to] (µs, monotonic): self time by where the
 * code lives (package, or partflow file), and by function.
 */
function summariseProfile(file: string, from: number, to: number, top = 25): Row[] {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[]; samples: number[]; timeDeltas: number[]; startTime: number;
  };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const where = (u: string, fn: string) => (!u ? fn
    : /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u)?.[1] ?? (u.startsWith('node:') ? u : u.replace(/^.*\/dist\//, '').replace(/^file:\/\//, '')));
  const fnKey = (n: (typeof prof.nodes)[number]) => `${n.callFrame.functionName || '(anonymous)'} ${where(n.callFrame.url, n.callFrame.functionName)}:${n.callFrame.lineNumber + 1}`;
  const inclusive = new Map<string, number>();
  const self = new Map<string, number>();
  const byFn = new Map<string, number>();
  let total = 0;
  let at = prof.startTime;
  prof.samples.forEach((id, i) => {
    const n = byId.get(id)!;
    at += prof.timeDeltas[i] ?? 0;
    if (at < from || at > to) return;
    const dt = (prof.timeDeltas[i] ?? 0) / 1000;
    if (n.callFrame.functionName === '(idle)') return;
    total += dt;
    const w = where(n.callFrame.url, n.callFrame.functionName);
    self.set(w, (self.get(w) ?? 0) + dt);
    byFn.set(fnKey(n), (byFn.get(fnKey(n)) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
      const k = fnKey(byId.get(id)!);
      if (!seen.has(k)) inclusive.set(k, (inclusive.get(k) ?? 0) + dt);
      seen.add(k);
    }
  });
  const rows = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => ({ where: k, 'self ms': Math.round(v), '%': Math.round((1000 * v) / total) / 10 }));
  console.log(`\nworker CPU profile ${file}, the measured run only: ${Math.round(total)} ms sampled (not idle); self time by module`);
  console.table(rows(self));
  console.log('self time by function');
  console.table(rows(byFn));
  console.log('total time (self and callees) by function, partflow code');
  console.table(rows(new Map([...inclusive].filter(([k]) => /\b(src|activities|workflows)\/|runStage|activate/.test(k)))));
  return rows(self);
}

async function startWorker(cfg: Config, s3Url: string, taskQueue: string, profileDir: string | undefined): Promise<ChildProcess> {
  const nodeArgs = (process.env.PARTFLOW_BENCH_WORKER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const args = [...nodeArgs, ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), path.join(PROJECT_ROOT, 'dist/src/cli/main.js'), 'worker'];
  const child = spawn(process.execPath, args, {
    cwd: PROJECT_ROOT, stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env, TEMPORAL_ADDRESS: cfg.temporalAddress, AWS_ENDPOINT_URL_S3: s3Url, PARTFLOW_TASK_QUEUE: taskQueue, PARTFLOW_BUCKET: cfg.bucket,
      // One process: this measures the cost of a partition, not how work spreads over cores.
      PARTFLOW_WORKER_PROCESSES: '1',
    },
  });
  return child;
}

/**
 * The measurement on the bench's stack; with PARTFLOW_BENCH_COST_EAGER=1 again on a second stack
 * whose Temporal server dispatches activities eagerly (system.enableActivityEagerExecution): the
 * activity task then comes back with the workflow task's completion instead of through matching.
 */
export async function costBench(cfg: Config, client: Client, stack: EmbeddedStack): Promise<Row[]> {
  const rows = [{ server: 'default', ...(await measure(cfg, client, stack)) }];
  if (process.env.PARTFLOW_BENCH_COST_EAGER === '1') {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-bench-eager-'));
    const cfg2 = loadConfig({ ...process.env, TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`, AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${await freePort()}`, PARTFLOW_TASK_QUEUE: 'bench' });
    const stack2 = await startEmbeddedStack(cfg2, { dataDir, uiPort: await freePort(), dynamicConfig: { 'system.enableActivityEagerExecution': true } });
    const conn = await Connection.connect({ address: cfg2.temporalAddress });
    try {
      console.log('\nagain, with eager activity dispatch on the Temporal server');
      rows.push({ server: 'eager activities', ...(await measure(cfg2, new Client({ connection: conn }), stack2)) });
    } finally {
      await conn.close();
      await stack2.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }
  return rows;
}

async function measure(cfg: Config, client: Client, stack: EmbeddedStack): Promise<Row> {
  const N = Number(process.env.PARTFLOW_BENCH_COST_N || 500);
  const W = Number(process.env.PARTFLOW_BENCH_COST_WARM || 5);
  const perActivity = process.env.PARTFLOW_BENCH_COST_PER_ACTIVITY ? { partitionsPerActivity: Number(process.env.PARTFLOW_BENCH_COST_PER_ACTIVITY) } : {};
  const profileDir = process.env.PARTFLOW_BENCH_COST_PROFILE || undefined;
  const s3: S3Client = s3Client(cfg.s3);
  const limit = pLimit(16);
  console.log(`\ncost: ${N} one-object partitions x 1,000 records through copy (pack: false${perActivity.partitionsPerActivity ? `, partitionsPerActivity: ${perActivity.partitionsPerActivity}` : ''}), one worker process`);
  await Promise.all(Array.from({ length: N + W }, (_, m) => limit(() => s3.send(new PutObjectCommand({
    Bucket: cfg.bucket, Key: `bench/cost/${m < W ? 'warm' : 'run'}/m-${String(m).padStart(5, '0')}.avro`, Body: feed(m, 1000),
  })))));
  const proxy = await countingProxy(cfg.s3.endpoint!);
  const taskQueue = `${cfg.taskQueue}-cost`;
  if (profileDir) fs.mkdirSync(profileDir, { recursive: true });
  const worker = await startWorker(cfg, proxy.url, taskQueue, profileDir);
  const exited = new Promise<void>((r) => worker.once('exit', () => r()));
  const ingest = async (name: string) => {
    const id = `bench-cost-${name}-${Date.now()}`;
    const summary = (await client.workflow.execute('ingest', {
      taskQueue, workflowId: id,
      args: [{ pipeline: 'copy', source: `s3://${cfg.bucket}/bench/cost/${name}/`, target: `s3://${cfg.bucket}/bench-out/cost-${Date.now()}/`, pack: false, maxParallel: 8, ...perActivity }],
    })) as IngestSummary;
    return { id, summary };
  };
  let window: [number, number] | undefined;
  try {
    // Warm up: the workflow bundle, JIT, the store's conditional-write probe.
    await ingest('warm');
    const pids = { worker: worker.pid!, temporal: stack.temporal.child.pid!, versitygw: stack.s3!.child.pid! };
    const before = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, processTreeCpuMs(p)]));
    const threads0 = threadCpuSeconds(worker.pid!);
    proxy.counts.clear();
    const t0 = Date.now();
    const m0 = monoUs();
    const { id, summary } = await ingest('run');
    window = [m0, monoUs()];
    const secs = (Date.now() - t0) / 1000;
    const after = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, processTreeCpuMs(p)]));
    const threads = threadSplitMs(worker.pid!, threads0, threadCpuSeconds(worker.pid!));
    const per = (k: string) => Math.round(((after[k] - before[k]) / N) * 10) / 10;
    const desc = await client.workflow.getHandle(id).describe();
    // Activities that ran partitions: one per partition, or one per batch of small ones.
    const events = (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
    const activities = events.filter((e) => ['runStage', 'runBatch', 'importPartition'].includes(e.activityTaskScheduledEventAttributes?.activityType?.name ?? '')).length;
    const requests = [...proxy.counts].sort((a, b) => b[1] - a[1]);
    const total = requests.reduce((n, [, c]) => n + c, 0);
    const row: Row = {
      partitions: summary.partitions, 'partition activities (parent history)': activities, seconds: secs,
      'worker CPU ms/partition': per('worker'),
      'of which main thread': Math.round((threads.main / N) * 10) / 10, 'other node threads': Math.round((threads.other / N) * 10) / 10, 'Temporal core (tokio)': Math.round((threads.core / N) * 10) / 10,
      'temporal CPU ms/partition': per('temporal'), 'versitygw CPU ms/partition': per('versitygw'),
      'S3 requests/partition': Math.round((total / N) * 100) / 100, 'parent history events': desc.historyLength, status: summary.status,
    };
    console.table([row]);
    console.log('worker threads by name, CPU ms per partition:');
    console.table([...threads.byName].filter(([, ms]) => ms > 0).sort((a, b) => b[1] - a[1]).map(([name, ms]) => ({ thread: name, 'ms/partition': Math.round((ms / N) * 100) / 100 })));
    console.log('S3 requests by kind, per partition (run and plan included):');
    console.table(requests.map(([k, c]) => ({ request: k, total: c, 'per partition': Math.round((c / N) * 100) / 100 })));
    row.requests = JSON.stringify(Object.fromEntries(requests));
    return row;
  } finally {
    worker.kill('SIGTERM');
    await exited;
    await proxy.close();
    if (profileDir) {
      // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main one; the others
      // run workflows (the SDK's thread) and the decode guard.
      const files = fs.readdirSync(profileDir).filter((f) => f.includes(`.${worker.pid}.`) && f.endsWith('.cpuprofile')).sort();
      for (const f of files) {
        if (window) summariseProfile(path.join(profileDir, f), ...window, f.includes(`.${worker.pid}.0.`) ? 25 : 8);
      }
    }
  }
}
