import { S3Client } from '@aws-sdk/client-s3';
import path from 'node:path';
import { IngestSummary, RunManifest } from '../../src/manifest/run';
import type { SavedEntry } from '../../src/manifest/window-results';
import { PipelineDefinition } from '../../src/pipeline/types';
import { s3Client } from '../../src/storage/client';
import { getJson } from '../helpers/s3';
import { startHarness, TestHarness } from '../helpers/stack';
import { putItemObjects } from '../helpers/items';
import { until } from '../helpers/until';

/**
 * Cancels in a three-stage pipeline (a → b → c) while stage a of some partitions is held: what
 * stands behind a cancelled stage is cancelled too (or, in a window cancelled alone, run again),
 * never `blocked`, which means "held back by a failure".
 */
const BUCKET = 'it-cancel-stages';
const N = 24;
const HELD_FROM = 20;
const name = (i: number) => `o-${String(i).padStart(2, '0')}.avro`;
const schemasDir = path.join(__dirname, '../fixtures/schemas');
let released = false;
const same = (r: unknown) => r;
const pipeline: PipelineDefinition = {
  name: 'held3',
  schemasDir,
  retry: { maximumAttempts: 1 },
  stages: [
    {
      name: 'a', schema: 'item', version: '1', after: ['raw'],
      transform: async (r, ctx) => {
        if (Number(ctx.partitionName.slice(2, 4)) >= HELD_FROM) while (!released) await new Promise((res) => setTimeout(res, 50));
        return r;
      },
    },
    { name: 'b', schema: 'item', version: '1', after: ['a'], transform: same },
    { name: 'c', schema: 'item', version: '1', after: ['b'], transform: same },
  ],
};
// Held partitions wait inside one record and send no heartbeat meanwhile. They hold at most 4 of
// the 8 slots, so the other partitions' stages always find one.
const HELD_HEARTBEAT_S = 600;

let h: TestHarness;
let s3: S3Client;
interface Progress { stages: Record<string, { done: number; running: number; pending: number; blocked: number }> }

beforeAll(async () => {
  h = await startHarness('cancel-stages', [pipeline], { bucket: BUCKET, concurrency: 16 });
  s3 = s3Client(h.cfg.s3);
  await putItemObjects(s3, BUCKET, N, name);
}, 60_000);

afterAll(async () => {
  released = true;
  await h?.stop();
});

beforeEach(() => { released = false; });

const start = (wid: string, dataset: string, extra: object) => h.client.workflow.start('ingest', {
  taskQueue: h.cfg.taskQueue, workflowId: wid,
  args: [{ pipeline: 'held3', source: `s3://${BUCKET}/src/`, target: `s3://${BUCKET}/out/`, dataset, pack: false, maxParallel: 8, heartbeatTimeoutSeconds: HELD_HEARTBEAT_S, ...extra }],
});
const heldReached = (wid: string) => until('a of the held partitions running, the rest done', 120_000, async () => {
  const q = await h.client.workflow.getHandle(wid).query<Progress>('progress');
  return q.stages.a.done === HELD_FROM && q.stages.c.done === HELD_FROM ? q : undefined;
});
/** Every entry the run's windows (run in the parent here) saved for its run manifest, from its history. */
async function saved(wid: string, runId: string): Promise<SavedEntry[]> {
  const events = (await h.client.workflow.getHandle(wid, runId).fetchHistory()).events ?? [];
  return events.flatMap((e) => {
    const a = e.activityTaskScheduledEventAttributes;
    if (a?.activityType?.name !== 'saveWindowResults') return [];
    return (JSON.parse(Buffer.from(a.input!.payloads![0].data!).toString()) as { entries: SavedEntry[] }).entries;
  });
}

describe.each([
  ['one activity per partition', 1],
  ['partitions batched per activity', 4],
])('cancelling a run while stage a of some partitions runs (%s)', (_label, partitionsPerActivity) => {
  it('counts b and c of those partitions cancelled, not blocked, in the summary, the windows\' saved results and the run manifest', async () => {
    const wid = `cancel-stages-${partitionsPerActivity}-${process.pid}`;
    const dataset = `run-${partitionsPerActivity}`;
    const handle = await start(wid, dataset, { partitionsPerActivity });
    await heldReached(wid);
    await handle.cancel();
    const err = await handle.result().catch((e: Error & { cause?: Error }) => e);
    expect((err as Error & { cause?: Error }).cause?.name).toBe('CancelledFailure');
    const run = await getJson<RunManifest>(s3, `s3://${BUCKET}/out/${dataset}/_runs/${wid}/${handle.firstExecutionRunId}.json`);
    expect(run.status).toBe('cancelled');
    for (const stage of ['a', 'b', 'c']) expect(run.stages[stage]).toMatchObject({ succeeded: HELD_FROM, failed: 0, blocked: 0, cancelled: N - HELD_FROM });
    expect(run.blocked ?? []).toEqual([]);
    expect(run.cancelled?.map((c) => `${c.stage} ${c.name}`).sort()).toEqual(
      ['a', 'b', 'c'].flatMap((s) => Array.from({ length: N - HELD_FROM }, (_, k) => `${s} ${name(HELD_FROM + k)}`)).sort());
    // The window itself no longer says blocked for them (the run manifest once corrected it).
    const entries = await saved(wid, handle.firstExecutionRunId);
    expect(entries.filter((e) => e.status === 'done' || e.status === 'skipped')).toHaveLength(3 * HELD_FROM);
    expect(entries.filter((e) => e.status === 'blocked')).toEqual([]);
  }, 180_000);
});

describe('a window cancelled alone, while stage a of its partitions runs', () => {
  it('gives them back to the run, which runs a, b and c of them again: the run completes with nothing blocked', async () => {
    const wid = `cancel-window-${process.pid}`;
    const dataset = 'window';
    // Windows of 10 partitions, run as child workflows: the third holds partitions 20-23.
    const handle = await start(wid, dataset, { partitionsPerWorkflow: 10, partitionsPerActivity: 1 });
    await heldReached(wid);
    const third = h.client.workflow.getHandle(`${wid}/w-000003`);
    expect((await third.describe()).status.name).toBe('RUNNING');
    await third.cancel();
    // It reports what it finished and ends (completed: the cancel only stopped its activities).
    await until('the window closed', 60_000, async () => ((await third.describe()).status.name !== 'RUNNING' ? true : undefined));
    released = true;
    const summary = await handle.result() as IngestSummary;
    expect(summary.status).toBe('completed');
    for (const stage of ['a', 'b', 'c']) expect(summary.stages[stage]).toMatchObject({ succeeded: N, failed: 0, blocked: 0 });
    const run = await getJson<RunManifest>(s3, summary.manifest);
    expect(run.committed.c.map((c) => c.name).sort()).toEqual(Array.from({ length: N }, (_, i) => name(i)));
    expect(run.blocked ?? []).toEqual([]);
  }, 180_000);
});
