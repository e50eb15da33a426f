/**
 * partflow through the real stack for the compare and scale benchmarks: the worker is the CLI's
 * (`partflow worker`), spawned as its own process so that its CPU and peak RSS are its own; each
 * run gets a fresh worker on a fresh task queue, so a peak RSS belongs to one workload.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client } from '@temporalio/client';
import pLimit from 'p-limit';
import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { Config } from '../../src/config';
import { PROJECT_ROOT } from '../../src/config/paths';
import { IngestSummary } from '../../src/manifest/run';
import { IngestInput } from '../../src/pipeline/input';
import { peakRssMiB, processTree, round, treeCpuSeconds } from './procstat';

export async function upload(s3: S3Client, bucket: string, objects: [string, Buffer][]): Promise<void> {
  const limit = pLimit(16);
  await Promise.all(objects.map(([key, body]) => limit(() => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body })))));
}

export interface WorkerProcess { child: ChildProcess; taskQueue: string }

/**
 * `node dist/src/cli/main.js worker --pipelines dist/bench/compare/pipelines.js` plus `extraArgs`
 * (PARTFLOW_BENCH_WORKER_ARGS, e.g. "--concurrency 16", or a process count once the worker has one).
 * Resolves once it polls for both workflow and activity tasks, so start-up (bundling) is not timed.
 */
export async function startWorker(cfg: Config, client: Client, taskQueue: string, env: NodeJS.ProcessEnv = {}): Promise<WorkerProcess> {
  const extra = (process.env.PARTFLOW_BENCH_WORKER_ARGS ?? '').split(/\s+/).filter(Boolean);
  // Node options for the worker and the processes it forks, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`;
  // an A/B's B env may set them too.
  const nodeArgs = (env.PARTFLOW_BENCH_WORKER_NODE_ARGS ?? process.env.PARTFLOW_BENCH_WORKER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, path.join(PROJECT_ROOT, 'dist/src/cli/main.js'), 'worker', '--pipelines', path.join(PROJECT_ROOT, 'dist/bench/compare/pipelines.js'), ...extra], {
    cwd: PROJECT_ROOT, stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, TEMPORAL_ADDRESS: cfg.temporalAddress, AWS_ENDPOINT_URL_S3: cfg.s3.endpoint, PARTFLOW_TASK_QUEUE: taskQueue, PARTFLOW_BUCKET: cfg.bucket, ...env },
  });
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (exited !== undefined) throw new Error(`partflow worker exited with ${exited} before it polled ${taskQueue}`);
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`partflow worker did not poll ${taskQueue} within 120 s`); }
    const polling = await Promise.all([1, 2].map(async (taskQueueType) => {
      const r = await client.workflowService.describeTaskQueue({ namespace: cfg.temporalNamespace, taskQueue: { name: taskQueue }, taskQueueType });
      return (r.pollers ?? []).length > 0;
    }));
    if (polling.every(Boolean)) return { child, taskQueue };
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The worker's CPU seconds (its whole process tree) and VmHWM, read just before it is stopped; then
 * stops it. A worker that runs child processes reports the largest child's peak too.
 */
export async function stopWorker(w: WorkerProcess): Promise<{ cpuSeconds: number; peakRssMiB: number; childPeakRssMiB?: number; children?: number }> {
  const kids = processTree(w.child.pid!).slice(1);
  const usage = {
    cpuSeconds: treeCpuSeconds(w.child.pid!), peakRssMiB: Math.round(peakRssMiB(w.child.pid!)),
    ...(kids.length ? { childPeakRssMiB: Math.round(Math.max(...kids.map(peakRssMiB))), children: kids.length } : {}),
  };
  const exited = new Promise((r) => w.child.once('exit', r));
  w.child.kill('SIGTERM');
  await exited;
  return usage;
}

export interface ServerPids { temporal: number; s3: number }

export interface IngestRun {
  seconds: number;
  summary: IngestSummary;
  workflowId: string;
  cpuSeconds: { worker: number; temporal: number; s3: number };
  peakRssMiB: Record<string, number>;
}

/**
 * One ingest on a fresh worker: wall time from start to result, CPU of each process over the run.
 * With `again`, a second ingest (of other input, or of the same into another dataset) then runs on
 * the same worker and is measured the same way: a long-lived worker, whose workflow sandbox,
 * connections and compiled code are warm, as a production worker's are after its first run.
 */
export async function ingestOnFreshWorker(
  cfg: Config, client: Client, servers: ServerPids, name: string, input: Partial<IngestInput>, env: NodeJS.ProcessEnv = {}, again?: Partial<IngestInput>,
): Promise<IngestRun & { again?: IngestRun }> {
  const taskQueue = `bench-${name}-${Date.now()}`;
  const w = await startWorker(cfg, client, taskQueue, env);
  // A worker that dies (crash, OOM) would leave the ingest waiting for ever: fail the bench instead.
  const died = new Promise<never>((_, reject) => w.child.once('exit', (code, signal) => reject(new Error(`partflow worker on ${taskQueue} exited (${signal ?? code}); see its log above`))));
  died.catch(() => undefined);
  const timed = async (args: Partial<IngestInput>, suffix: string) => {
    const before = { worker: treeCpuSeconds(w.child.pid!), temporal: treeCpuSeconds(servers.temporal), s3: treeCpuSeconds(servers.s3) };
    const workflowId = `bench-${name}-${Date.now()}${suffix}`;
    const t0 = process.hrtime.bigint();
    const summary = (await Promise.race([client.workflow.execute('ingest', { taskQueue, workflowId, args: [args] }), died])) as IngestSummary;
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = { worker: round(treeCpuSeconds(w.child.pid!) - before.worker), temporal: round(treeCpuSeconds(servers.temporal) - before.temporal), s3: round(treeCpuSeconds(servers.s3) - before.s3) };
    return { seconds, summary, workflowId, cpu };
  };
  try {
    const first = await timed(input, '');
    const second = again ? await timed(again, '-again') : undefined;
    const usage = await stopWorker(w);
    const peakRssMiB = { worker: usage.peakRssMiB, ...(usage.children ? { [`largest of ${usage.children} worker children`]: usage.childPeakRssMiB! } : {}) };
    const result = (r: typeof first): IngestRun => ({ seconds: r.seconds, summary: r.summary, workflowId: r.workflowId, cpuSeconds: r.cpu, peakRssMiB });
    return { ...result(first), ...(second ? { again: result(second) } : {}) };
  } finally {
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  }
}

/** Event counts of a run's histories: the parent's, and the largest of every other run whose id starts with it (children, continued runs). */
export async function historySizes(client: Client, workflowId: string): Promise<{ parentEvents: number; largestEvents: number; largestId: string; largestBytes: number; executions: number }> {
  const parent = await client.workflow.getHandle(workflowId).describe();
  // 0 when the run has no other executions (no children, never continued as new).
  let largest = { events: 0, id: '', bytes: 0 };
  let executions = 0;
  for await (const w of client.workflow.list({ query: `WorkflowId STARTS_WITH "${workflowId}"` })) {
    executions++;
    if (w.workflowId !== workflowId && w.historyLength > largest.events) largest = { events: w.historyLength, id: w.workflowId, bytes: w.historySize ?? 0 };
  }
  return { parentEvents: parent.historyLength, largestEvents: largest.events, largestId: largest.id, largestBytes: largest.bytes, executions };
}

const STAGE_ACTIVITY = /^(runStage|runBatch|importPartition)$/;

/** A history event's time, in seconds. */
const at = (e: { eventTime?: { seconds?: unknown; nanos?: number | null } | null }) => Number(e.eventTime?.seconds ?? 0) + (e.eventTime?.nanos ?? 0) / 1e9;

/**
 * How the run's stage activities went over worker processes: per worker identity (pid@host), the
 * activities it started, largest first; the longest an activity waited from scheduled to
 * started; and where the wall time went: from the run's start to the first stage activity's
 * start, the stage activities' span (first start to last completion), and from there to the
 * run's close. Read from the histories of the run and its children.
 */
export async function activitySpread(client: Client, workflowId: string): Promise<{ perProcess: number[]; maxWaitSeconds: number; timeline?: { beforeStages: number; stages: number; afterStages: number } }> {
  const per = new Map<string, number>();
  let maxWait = 0;
  let runStart = Infinity;
  let runClose = -Infinity;
  let firstStart = Infinity;
  let lastDone = -Infinity;
  for await (const w of client.workflow.list({ query: `WorkflowId STARTS_WITH "${workflowId}"` })) {
    if (w.workflowId === workflowId) {
      runStart = Math.min(runStart, w.startTime.getTime() / 1000);
      if (w.closeTime) runClose = Math.max(runClose, w.closeTime.getTime() / 1000);
    }
    const history = await client.workflow.getHandle(w.workflowId, w.runId).fetchHistory();
    const scheduled = new Map<string, { name: string; at: number }>();
    for (const e of history.events ?? []) {
      const s = e.activityTaskScheduledEventAttributes;
      if (s) scheduled.set(String(e.eventId), { name: s.activityType?.name ?? '', at: at(e) });
      const started = e.activityTaskStartedEventAttributes;
      const of = started && scheduled.get(String(started.scheduledEventId));
      if (started && of && STAGE_ACTIVITY.test(of.name)) {
        per.set(started.identity ?? '?', (per.get(started.identity ?? '?') ?? 0) + 1);
        maxWait = Math.max(maxWait, at(e) - of.at);
        firstStart = Math.min(firstStart, at(e));
      }
      const done = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes;
      const which = done && scheduled.get(String(done.scheduledEventId));
      if (which && STAGE_ACTIVITY.test(which.name)) lastDone = Math.max(lastDone, at(e));
    }
  }
  const timeline = Number.isFinite(runStart) && Number.isFinite(runClose) && Number.isFinite(firstStart) && Number.isFinite(lastDone)
    ? { beforeStages: round(firstStart - runStart), stages: round(lastDone - firstStart), afterStages: round(runClose - lastDone) }
    : undefined;
  return { perProcess: [...per.values()].sort((a, b) => b - a), maxWaitSeconds: round(maxWait), timeline };
}

/** Seconds the run spent planning: its planIngest activity, from scheduled to completed, in the parent's first run. */
export async function planSeconds(client: Client, workflowId: string): Promise<number | undefined> {
  let first: { runId: string; start: number } | undefined;
  for await (const w of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
    if (!first || w.startTime.getTime() < first.start) first = { runId: w.runId, start: w.startTime.getTime() };
  }
  if (!first) return undefined;
  const history = await client.workflow.getHandle(workflowId, first.runId).fetchHistory();
  const events = history.events ?? [];
  const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'planIngest');
  const done = scheduled && events.find((e) => Number(e.activityTaskCompletedEventAttributes?.scheduledEventId ?? -1) === Number(scheduled.eventId));
  return scheduled && done ? round(at(done) - at(scheduled)) : undefined;
}
