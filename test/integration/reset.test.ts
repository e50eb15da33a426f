import { S3Client } from '@aws-sdk/client-s3';
import { temporal } from '@temporalio/proto';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { IngestSummary, RunManifest } from '../../src/manifest/run';
import { PipelineDefinition } from '../../src/pipeline/types';
import { readSnapshot } from '../../src/snapshots/store';
import { s3Client } from '../../src/storage/client';
import { getJson } from '../helpers/s3';
import { startHarness, TestHarness } from '../helpers/stack';
import { putItemObjects } from '../helpers/items';
import { until } from '../helpers/until';

/**
 * `temporal workflow reset` of a windowed ingest (windows of 5 partitions run as child
 * workflows): the reset run's run manifest and snapshot must hold every partition, not only those
 * of the windows started after the reset point.
 */
const BUCKET = 'it-reset';
const N = 30;
const name = (i: number) => `r-${String(i).padStart(3, '0')}.avro`;
const schemasDir = path.join(__dirname, '../fixtures/schemas');
const same = (r: unknown) => r;
// Partitions from #holdFrom on wait until released (the running-reset case).
let holdFrom = N;
let released = true;
const pipeline: PipelineDefinition = {
  name: 'resettable',
  schemasDir,
  retry: { maximumAttempts: 1 },
  stages: [
    {
      name: 'a', schema: 'item', version: '1', after: ['raw'],
      transform: async (r, ctx) => {
        if (Number(ctx.partitionName.slice(2, 5)) >= holdFrom) while (!released) await new Promise((res) => setTimeout(res, 50));
        return r;
      },
    },
    { name: 'b', schema: 'item', version: '1', after: ['a'], transform: same },
  ],
};

let h: TestHarness;
let s3: S3Client;
type Event = temporal.api.history.v1.IHistoryEvent;
const T = temporal.api.enums.v1.EventType;

beforeAll(async () => {
  h = await startHarness('reset', [pipeline], { bucket: BUCKET, concurrency: 8 });
  s3 = s3Client(h.cfg.s3);
  await putItemObjects(s3, BUCKET, N, name);
}, 60_000);

afterAll(async () => {
  released = true;
  await h?.stop();
});

const input = (dataset: string) => ({ pipeline: 'resettable', source: `s3://${BUCKET}/src/`, target: `s3://${BUCKET}/out/`, dataset, pack: false, maxParallel: 2, partitionsPerWorkflow: 10, partitionsPerActivity: 1 });
// Windows of 5 partitions: at most 10 activities a window, 2 stages.
const scale = { windowActivities: 10 };

async function reset(wid: string, runId: string, eventId: number): Promise<string> {
  const req: temporal.api.workflowservice.v1.IResetWorkflowExecutionRequest = {
    namespace: h.cfg.temporalNamespace, workflowExecution: { workflowId: wid, runId }, reason: 'test: operator reset',
    // protobufjs takes a number for an int64 (its typings say Long, a package partflow does not depend on).
    workflowTaskFinishEventId: eventId as unknown as temporal.api.workflowservice.v1.IResetWorkflowExecutionRequest['workflowTaskFinishEventId'], requestId: randomUUID(),
  };
  const r: temporal.api.workflowservice.v1.IResetWorkflowExecutionResponse = await h.client.workflowService.resetWorkflowExecution(req);
  return r.runId!;
}

/** Every partition in the run manifest and in the snapshot the run committed, one record each. */
async function expectWhole(summary: IngestSummary, dataset: string): Promise<void> {
  const all = Array.from({ length: N }, (_, i) => name(i));
  expect(summary.status).toBe('completed');
  for (const stage of ['a', 'b']) {
    expect(summary.stages[stage]).toMatchObject({ succeeded: N, failed: 0, blocked: 0 });
    expect(summary.stages[stage].records).toEqual({ in: N, out: N, rejected: 0, dropped: 0 });
  }
  const run = await getJson<RunManifest>(s3, summary.manifest);
  const snap = await readSnapshot(s3, `s3://${BUCKET}/out/${dataset}/`, summary.snapshot!.number);
  for (const stage of ['a', 'b']) {
    expect(run.committed[stage].map((c) => c.name).sort()).toEqual(all);
    expect(run.committed[stage].every((c) => c.counts.in === 1)).toBe(true);
    expect(snap.stages[stage].map((p) => p.name).sort()).toEqual(all);
    expect(snap.stages[stage].every((p) => p.records === 1)).toBe(true);
    expect(snap.changes[stage]?.removed ?? []).toEqual([]);
  }
}

describe('a reset windowed ingest', () => {
  it('commits every partition after a reset of a completed run to a point where some windows had finished', async () => {
    const wid = `reset-done-${process.pid}`;
    const first = await h.client.workflow.start('ingest', { taskQueue: h.cfg.taskQueue, workflowId: wid, args: [input('done'), scale] });
    await expectWhole(await first.result() as IngestSummary, 'done');
    const events: Event[] = (await first.fetchHistory()).events ?? [];
    // The workflow task that followed the second window's end, with windows started after it.
    const ended = events.filter((e) => e.eventType === T.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED);
    expect(ended.length).toBe(N / 5);
    const point = events.find((e) => e.eventType === T.EVENT_TYPE_WORKFLOW_TASK_COMPLETED && Number(e.eventId) > Number(ended[1].eventId))!;
    expect(events.some((e) => e.eventType === T.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED && Number(e.eventId) > Number(point.eventId))).toBe(true);
    const runId = await reset(wid, first.firstExecutionRunId, Number(point.eventId));
    const summary = await h.client.workflow.getHandle(wid, runId).result() as IngestSummary;
    expect(summary.manifest).toContain(runId);
    expect(summary.snapshot!.number).toBe(2);
    await expectWhole(summary, 'done');
    // It ran every partition again in windows of its own, named so that none can meet a window of the base.
    const own = ((await h.client.workflow.getHandle(wid, runId).fetchHistory()).events ?? [])
      .filter((e) => e.eventType === T.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED && Number(e.eventId) > Number(point.eventId))
      .map((e) => e.startChildWorkflowExecutionInitiatedEventAttributes!.workflowId!);
    expect(own.length).toBe(N / 5);
    for (const id of own) expect(id).toMatch(new RegExp(`^${wid}/${runId}/w-\\d{6}$`));
  }, 240_000);

  it('commits every partition after a reset of a running run whose windows still run', async () => {
    const wid = `reset-running-${process.pid}`;
    released = false;
    holdFrom = 12;
    const first = await h.client.workflow.start('ingest', { taskQueue: h.cfg.taskQueue, workflowId: wid, args: [input('running'), scale] });
    // Windows 1 and 2 (partitions 0-9) are done; window 3 holds from 12 on.
    await until('two windows done and the third held', 90_000, async () => {
      const events = (await first.fetchHistory()).events ?? [];
      return events.filter((e) => e.eventType === T.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED).length >= 2
        && events.some((e) => e.eventType === T.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED && e.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId === `${wid}/w-000003`) ? true : undefined;
    });
    const events = (await first.fetchHistory()).events ?? [];
    const last = events.filter((e) => e.eventType === T.EVENT_TYPE_WORKFLOW_TASK_COMPLETED).pop()!;
    // The base's window 3 still runs (abandoned), as the reset run goes on.
    const runId = await reset(wid, first.firstExecutionRunId, Number(last.eventId));
    expect((await h.client.workflow.getHandle(`${wid}/w-000003`).describe()).status.name).toBe('RUNNING');
    released = true;
    const summary = await h.client.workflow.getHandle(wid, runId).result() as IngestSummary;
    await expectWhole(summary, 'running');
  }, 240_000);

  it('fails naming the window, its partitions and what to do when a workflow holds a window\'s id', async () => {
    const wid = `reset-held-${process.pid}`;
    // What a window an earlier run left running looks like to this run: a workflow with the id of its second window.
    const squatter = await h.client.workflow.start('ingestWindow', { taskQueue: `nobody-${process.pid}`, workflowId: `${wid}/w-000002`, args: [{}] });
    try {
      const run = await h.client.workflow.start('ingest', { taskQueue: h.cfg.taskQueue, workflowId: wid, args: [input('held'), scale] });
      const err = await run.result().then(() => null, (e: Error & { cause?: Error & { type?: string } }) => e);
      expect(err?.cause?.type).toBe('WindowAlreadyRunning');
      expect(err?.cause?.message).toMatch(new RegExp(`^window ${wid}/w-000002 \\(partitions 5-9\\) could not start: a workflow with that id is already running.*temporal workflow terminate -w '${wid}/w-000002'`));
    } finally {
      await squatter.terminate('test: done');
    }
  }, 120_000);
});
