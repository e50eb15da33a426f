import { Client, Connection, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Activities } from '../../activities';
import type { PartitionResult } from '../../src/manifest/partition';
import type { IngestSummary } from '../../src/manifest/run';
import type { PlanSummary } from '../../src/pipeline/plan';
import { bundleWorkflows } from '../../src/worker/worker';
import { testConfig } from '../helpers/stack';

/**
 * The ingest workflow's handling of inputs sent from outside (signals and updates by hand), on the
 * real Temporal server. The activities are stand-ins: this is about the workflow's own logic.
 */
const cfg = testConfig('wf-input');
let worker: Worker;
let running: Promise<void>;
let nativeConn: NativeConnection;
let conn: Connection;
let client: Client;
let releaseManifest: () => void = () => undefined;
const manifestGate = new Promise<void>((r) => (releaseManifest = r));

const plan: PlanSummary = {
  planKey: 'd/_plans/x.json', bucket: 'b', dataset: 'd', targetPrefix: '', format: 'avro', partitions: 2,
  ids: ['p-000000000001', 'p-000000000002'], names: ['good.avro', 'bad.avro'], sourceObjects: 2, scannedRecords: null, needsImport: false,
  stages: [{ name: 'copy', after: ['raw'], version: '1' }],
  retry: { maximumAttempts: 1, initialIntervalSeconds: 1, backoffCoefficient: 2, maximumIntervalSeconds: 1 },
};

const activities: Partial<Activities> = {
  planIngest: async () => plan,
  runStage: async (req): Promise<PartitionResult> => {
    if (req.index === 1) throw ApplicationFailure.nonRetryable('stage "copy" partition p-000000000002 (bad.avro): corrupt input', 'CorruptInput');
    return { stage: 'copy', partition: plan.ids[0], status: 'done', counts: { in: 1, out: 1, rejected: 0, dropped: 0 }, outputKey: 'k', manifestKey: 'm', durationMs: 1, attempt: 1, codeVersion: '1', contentVersion: '1-x' };
  },
  writeRunManifest: async (req) => {
    await manifestGate;
    return req.summary.manifest;
  },
  // New executions run windowed (workflows/run/): they save window results and stream the manifest.
  saveWindowResults: async (req) => req.key,
  streamRunManifest: async (req) => {
    await manifestGate;
    return req.summary.manifest;
  },
  commitSnapshot: async () => ({ snapshot: 1, url: 's3://b/d/_snapshots/00000001.json' }),
};

async function phase(handle: ReturnType<Client['workflow']['getHandle']>, want: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((await handle.query<{ phase: string }>('progress')).phase !== want) {
    if (Date.now() > deadline) throw new Error(`the run never reached ${want}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  nativeConn = await NativeConnection.connect({ address: cfg.temporalAddress });
  worker = await Worker.create({ connection: nativeConn, taskQueue: cfg.taskQueue, workflowBundle: await bundleWorkflows(), activities });
  running = worker.run();
  conn = await Connection.connect({ address: cfg.temporalAddress });
  client = new Client({ connection: conn });
});

afterAll(async () => {
  releaseManifest();
  worker?.shutdown();
  await running;
  await nativeConn?.close();
  await conn?.close();
});

it('ignores malformed signals without wedging, and answers a retry that comes while the run is finishing', async () => {
  const handle = await client.workflow.start('ingest', {
    taskQueue: cfg.taskQueue, workflowId: `wf-input-${process.pid}`, workflowExecutionTimeout: '2m',
    args: [{ pipeline: 'copy', source: 's3://bucket/src/', target: 's3://bucket/', dataset: 'd', waitForRetry: '4s' }],
  });
  await phase(handle, 'waiting-for-retry');
  // Hand-made signals of every wrong shape: each is ignored with a warning.
  await handle.signal('batchStates', 'garbage' as never);
  await handle.signal('batchStates', [{ stage: 'nope', index: 0 }, null, { stage: 'copy', index: 99, status: 'done' }] as never);
  await handle.signal('batchStates', [{ stage: 'copy', index: 1, partition: 'p-000000000002', status: 'done', runs: 'x', attempts: 1 }] as never);
  await handle.signal('retryFailed', { partitions: 'bad.avro' } as never);
  const p = await handle.query<{ phase: string; stages: Record<string, { done: number; failed: number }> }>('progress');
  expect(p.phase).toBe('waiting-for-retry');
  expect(p.stages.copy).toMatchObject({ done: 1, failed: 1 });
  const meta = await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
  expect(meta.currentDetails).toMatch(/a retryFailed signal was ignored: "partitions" must be a list of strings/);
  // Still responsive: a well-formed update with an unknown partition gets its answer.
  await expect(handle.executeUpdate('retryFailed', { args: [{ partitions: ['nope.avro'] }] })).rejects.toThrow(WorkflowUpdateFailedError);
  // A typo or an empty list would read as "retry everything": refused, by update and by signal.
  const refused = (req: unknown) => handle.executeUpdate('retryFailed', { args: [req as never] }).catch((e: Error & { cause?: Error }) => e.cause?.message ?? e.message);
  expect(await refused({ partition: ['bad.avro'] })).toBe('unknown field "partition": a retry takes "partitions" and "stages" (both optional)');
  expect(await refused({ partitions: [] })).toBe('"partitions" is empty: leave it out to retry every failed partition');
  await handle.signal('retryFailed', { stage: ['copy'] } as never);
  expect((await handle.query<{ phase: string }>('progress')).phase).toBe('waiting-for-retry');
  // Bad partitions queries are answered with what is wrong, not with every partition or none.
  const asked = (q: unknown) => handle.query('partitions', q as never).then(() => 'answered', (e: Error) => e.message);
  expect(await asked({ status: 'failled' })).toMatch(/unknown status "failled" \(statuses: pending, running, done, skipped, failed, blocked, cancelled\)/);
  expect(await asked({ stage: 'nope' })).toMatch(/unknown stage "nope" \(stages: copy\)/);
  expect(await asked({ limit: -1 })).toMatch(/"limit" must be a whole number of at least 0, got -1/);
  expect(await asked({ status: 'failed', stage: 'copy' })).toBe('answered');

  // The wait runs out; while the run manifest is being written, a retry is refused with the way forward.
  await phase(handle, 'finishing');
  const err = await handle.executeUpdate('retryFailed', { args: [{}] }).catch((e: Error & { cause?: Error }) => e);
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  // Not retryable as it stands: the Temporal CLI showed a plain Error's refusal as `retryable: true`.
  expect((err as Error & { cause?: Error }).cause).toMatchObject({ type: 'RetryRefused', nonRetryable: true });
  expect((err as Error & { cause?: Error }).cause?.message).toMatch(/the run is finishing \(writing its run manifest\) and takes no more retries; once it has closed, `partflow retry wf-input-\d+` starts a new run/);
  releaseManifest();
  const summary = (await handle.result()) as IngestSummary;
  expect(summary.status).toBe('partial');
  expect(summary.stages.copy.failures).toEqual([expect.objectContaining({ name: 'bad.avro' })]);
});

it('fails at once, naming it, when the second argument is not settings (it would hang every workflow task)', async () => {
  const start = (second: unknown, id: string) => client.workflow.start('ingest', {
    taskQueue: cfg.taskQueue, workflowId: `wf-input-${id}-${process.pid}`, workflowExecutionTimeout: '1m',
    args: [{ pipeline: 'copy', source: 's3://bucket/src/', target: 's3://bucket/', dataset: 'd' }, second as never],
  });
  const cases = [['x', /the ingest's second argument must be an object, got "x"/], [{ windowz: 1 }, /has unknown field "windowz"/], [{ summaryIdsMax: -5 }, /has summaryIdsMax -5, not a whole number/]] as const;
  for (const [k, [second, why]] of cases.entries()) {
    const handle = await start(second, `second-${k}`);
    const err = await handle.result().catch((e: Error & { cause?: Error & { type?: string } }) => e.cause);
    expect(err?.message).toMatch(why);
    expect((err as { type?: string }).type).toBe('InvalidInput');
  }
});
