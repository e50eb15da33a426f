import { S3Client } from '@aws-sdk/client-s3';
import path from 'node:path';
import { RunManifest } from '../../src/manifest/run';
import { PipelineDefinition } from '../../src/pipeline/types';
import { s3Client } from '../../src/storage/client';
import { listObjects } from '../../src/storage/objects';
import { getJson } from '../helpers/s3';
import { startHarness, TestHarness } from '../helpers/stack';
import { putItemObjects } from '../helpers/items';
import { until } from '../helpers/until';

/**
 * A cancel that comes while windows (child workflows) of small, batched partitions have batches
 * in flight: those batches still commit what they finished, and their windows report it after
 * the cancel. The run's counts (its run manifest's stages summary, and `status` after close)
 * must agree with what it committed. Windows once lost those late reports (sent from their
 * cancelled scope), so the summary under-counted what the run manifest listed as committed.
 */
const BUCKET = 'it-cancel-counts';
const N = 240;
const name = (i: number) => `o-${String(i).padStart(3, '0')}.avro`;
const schemasDir = path.join(__dirname, '../fixtures/schemas');
// Slow enough that batches are in flight when the cancel comes, quick enough to finish them.
const tick = (r: unknown) => new Promise((res) => setTimeout(() => res(r), 40));
const pipeline: PipelineDefinition = {
  name: 'tick2',
  schemasDir,
  retry: { maximumAttempts: 1 },
  stages: [
    { name: 'a', schema: 'item', version: '1', after: ['raw'], transform: tick },
    { name: 'b', schema: 'item', version: '1', after: ['a'], transform: tick },
  ],
};

let h: TestHarness;
let s3: S3Client;
interface StageProgress { done: number; skipped: number; cancelled: number; running: number; pending: number; records: { in: number; out: number } }
interface Progress { phase: string; stages: Record<string, StageProgress> }

beforeAll(async () => {
  h = await startHarness('cancel-counts', [pipeline], { bucket: BUCKET, concurrency: 16 });
  s3 = s3Client(h.cfg.s3);
  await putItemObjects(s3, BUCKET, N, name);
}, 60_000);

afterAll(async () => {
  await h?.stop();
});

describe('cancelling a windowed run of small batched partitions while batches are in flight', () => {
  it('counts in its run manifest summary and status exactly what its run manifest lists as committed and cancelled', async () => {
    const wid = `cancel-counts-${process.pid}`;
    const dataset = 'counts';
    // Windows of 24 partitions (10 child workflows), batches of 6, 8 slots.
    const handle = await h.client.workflow.start('ingest', {
      taskQueue: h.cfg.taskQueue, workflowId: wid,
      args: [{ pipeline: 'tick2', source: `s3://${BUCKET}/src/`, target: `s3://${BUCKET}/out/`, dataset, pack: false, maxParallel: 8, partitionsPerWorkflow: 24, partitionsPerActivity: 6 }],
    });
    await until('some partitions done and batches running', 120_000, async () => {
      const q = await handle.query<Progress>('progress');
      return q.stages.a.done >= 40 && q.stages.a.running + q.stages.b.running > 0 ? q : undefined;
    }, 100);
    await handle.cancel();
    const err = await handle.result().catch((e: Error & { cause?: Error }) => e);
    expect((err as Error & { cause?: Error }).cause?.name).toBe('CancelledFailure');

    const run = await getJson<RunManifest>(s3, `s3://${BUCKET}/out/${dataset}/_runs/${wid}/${handle.firstExecutionRunId}.json`);
    expect(run.status).toBe('cancelled');
    const after = await handle.query<Progress>('progress');
    for (const stage of ['a', 'b']) {
      const committed = run.committed[stage];
      const cancelled = (run.cancelled ?? []).filter((c) => c.stage === stage).length;
      const out = committed.reduce((n, c) => n + c.counts.out, 0);
      const manifests = (await listObjects(s3, BUCKET, `out/${dataset}/${stage}/`)).filter((o) => o.key.endsWith('.json')).length;
      const facts = { committed: committed.length, cancelled, out, manifests };
      // Something committed and something cancelled: the cancel came in the middle.
      expect(committed.length).toBeGreaterThan(0);
      expect(committed.length + cancelled).toBe(N);
      expect({ committed: run.stages[stage].succeeded, cancelled: run.stages[stage].cancelled ?? 0, out: run.stages[stage].records.out, manifests: committed.length }).toEqual(facts);
      expect(run.stages[stage]).toMatchObject({ failed: 0, blocked: 0 });
      // `status` after close (the progress query of the closed run) says the same.
      expect({ committed: after.stages[stage].done, cancelled: after.stages[stage].cancelled, out: after.stages[stage].records.out }).toEqual({ committed: facts.committed, cancelled, out });
    }
  }, 240_000);
});
