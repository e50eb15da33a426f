import { S3Client } from '@aws-sdk/client-s3';
import { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import type { RunManifest } from '../../src/manifest/run';
import { PipelineDefinition } from '../../src/pipeline/types';
import { s3Client } from '../../src/storage/client';
import { connectTemporal } from '../../src/temporal/connect';
import { ensureBucket } from '../../src/stack/embedded';
import { bundleWorkflows, createWorker } from '../../src/worker/worker';
import type { Progress } from '../../workflows/state';
import { FIXTURE_SCHEMAS, putItemObjects } from '../helpers/items';
import { getJson } from '../helpers/s3';
import { testConfig } from '../helpers/stack';
import { until } from '../helpers/until';

/**
 * A cancel that reaches the parent in the same workflow task as something that frees a slot (a
 * window's report): the parent goes on to start the next window in a scope already cancelled, so
 * that window is never created. It used to stay "in flight", and the cancelled run waited its
 * full 2 minutes for a report no window would send. Made deterministic by stopping the only
 * worker, sending the report and the cancel, and starting a worker again: both land in one task.
 */
const BUCKET = 'it-cancel-window-start';
const cfg = testConfig(`test-cancel-start-${process.pid}`, BUCKET);
const N = 40;
const name = (i: number) => `o-${String(i).padStart(3, '0')}.avro`;
let s3: S3Client;
let client: Client;
let closeClient: () => Promise<void>;
const bundle = bundleWorkflows();

// The first worker's partitions wait here (held running) until it stops.
let release: () => void = () => undefined;
const held = new Promise<void>((r) => { release = r; });
const pipeline = (gate: Promise<void>): PipelineDefinition => ({
  name: 'gated', schemasDir: FIXTURE_SCHEMAS, retry: { maximumAttempts: 1 },
  stages: [{ name: 'a', schema: 'item', version: '1', after: ['raw'], transform: async (r: unknown) => { await gate; return r; } }],
});

async function startWorker(p: PipelineDefinition): Promise<{ worker: Worker; done: Promise<void> }> {
  const { worker, connection } = await createWorker({ config: cfg, pipelines: [p], workflowBundle: await bundle, concurrency: 4 });
  const done = worker.run().finally(() => connection.close());
  return { worker, done };
}

beforeAll(async () => {
  s3 = s3Client(cfg.s3);
  await ensureBucket(s3, BUCKET);
  await putItemObjects(s3, BUCKET, N, name);
  const connection = await connectTemporal(cfg.temporal);
  client = new Client({ connection, namespace: cfg.temporalNamespace });
  closeClient = () => connection.close();
}, 60_000);

afterAll(async () => {
  release();
  await closeClient?.();
});

it('a cancel that lands as the parent starts a window ends the run without waiting for that window', async () => {
  const wid = `cancel-start-${process.pid}`;
  const first = await startWorker(pipeline(held));
  // Windows of 10 partitions (the least), 10 slots: one window runs, three wait for a slot.
  const handle = await client.workflow.start('ingest', {
    taskQueue: cfg.taskQueue, workflowId: wid,
    args: [{ pipeline: 'gated', source: `s3://${BUCKET}/src/`, target: `s3://${BUCKET}/out/`, dataset: 'd', pack: false, maxParallel: 10, partitionsPerWorkflow: 10, partitionsPerActivity: 1 }],
  });
  try {
    await until('the first window to hold its partitions', 60_000, async () => {
      const p = await handle.query<Progress>('progress');
      return p.stages.a?.running === 10 && p.stages.a.pending === N - 10 ? true : undefined;
    }, 200);
  } finally {
    // Still held: the worker cancels them after its grace. Released first, window 1 could end
    // (and report) before the worker stopped, and no slot would be left for the report below.
    first.worker.shutdown();
    await first.done;
  }
  // A report that frees a slot of window 1 and the cancel: one workflow task once a worker polls.
  await handle.signal('windowReport' as never, { seq: 1, entries: [], failures: [], freed: 1 } as never);
  await handle.cancel();
  const second = await startWorker(pipeline(Promise.resolve()));
  try {
    const err = await handle.result().catch((e: Error & { cause?: Error }) => e);
    expect((err as Error & { cause?: Error }).cause?.name).toBe('CancelledFailure');
  } finally {
    second.worker.shutdown();
    await second.done;
  }
  const events = (await handle.fetchHistory()).events ?? [];
  const at = (e: (typeof events)[number]) => Number(e.eventTime!.seconds) * 1e3 + e.eventTime!.nanos! / 1e6;
  const asked = events.find((e) => e.workflowExecutionCancelRequestedEventAttributes)!;
  const closed = events[events.length - 1];
  expect(closed.workflowExecutionCanceledEventAttributes).toBeTruthy();
  // The window it started in the cancelled scope never existed: no start was ever asked for.
  expect(events.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes).map((e) => e.startChildWorkflowExecutionInitiatedEventAttributes!.workflowId)).toEqual([`${wid}/w-000001`]);
  // Not the 2 minutes a window that would never report was waited for (window 1 is cancelled and reports at once).
  expect(at(closed) - at(asked)).toBeLessThan(60_000);
  // Every partition is accounted for: committed, failed (window 1's, stopped with the first worker) or cancelled.
  const run = await getJson<RunManifest>(s3, `s3://${BUCKET}/out/d/_runs/${wid}/${handle.firstExecutionRunId}.json`);
  expect(run.status).toBe('cancelled');
  const cancelled = (run.cancelled ?? []).filter((c) => c.stage === 'a').length;
  expect(cancelled).toBeGreaterThanOrEqual(N - 10);
  expect(run.committed.a.length + run.failures.filter((f) => f.stage === 'a').length + cancelled).toBe(N);
}, 240_000);
