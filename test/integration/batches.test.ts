import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CancelledFailure } from '@temporalio/client';
import path from 'node:path';
import { ContainerEncoder, syncMarkerFor } from '../../src/avro/container';
import { loadSchema } from '../../src/avro/schemas';
import { IngestSummary, RunManifest } from '../../src/manifest/run';
import { PartitionError, PipelineDefinition } from '../../src/pipeline/types';
import { s3Client } from '../../src/storage/client';
import type { PartitionState } from '../../workflows/state';
import { getJson } from '../helpers/s3';
import { startHarness, TestHarness } from '../helpers/stack';
import { until } from '../helpers/until';

/**
 * Small partitions run several per activity. 40 one-object partitions, two stages; map of one
 * partition fails once with a retryable error, inside its batch.
 */
const BUCKET = 'it-batches';
const N = 40;
const RECORDS = 5;
const name = (i: number) => `o-${String(i).padStart(2, '0')}.avro`;
const FLAKY = name(5);
const schemasDir = path.join(__dirname, '../fixtures/schemas');
const mapCalls = new Map<string, number>();

const pipeline: PipelineDefinition = {
  name: 'batchy',
  schemasDir,
  retry: { maximumAttempts: 3, initialIntervalSeconds: 0.2, maximumIntervalSeconds: 1 },
  stages: [
    {
      name: 'map', schema: 'item', version: '1', after: ['raw'],
      transform: (r: { id: number; label: string }, ctx) => {
        if (ctx.recordIndex === 0) {
          const n = (mapCalls.get(ctx.partitionName) ?? 0) + 1;
          mapCalls.set(ctx.partitionName, n);
          // A whole-partition failure, which the partition's activity would retry.
          if (ctx.partitionName === FLAKY && n === 1) throw new PartitionError('the lookup service is unavailable');
        }
        return { ...r, label: r.label.toUpperCase() };
      },
    },
    { name: 'tag', schema: 'tagged', version: '1', after: ['map'], transform: (r: { id: number; label: string }) => ({ ...r, from: 'tag' }) },
  ],
};

/**
 * A pipeline whose two slowest-to-recover partitions fail their first two attempts, the first of
 * them inside their batch: their solo attempts must keep the policy's schedule (1 s, then 2 s).
 */
const SPACED_SRC = 'spaced';
const SPACED_N = 3;
const STUBBORN = [name(1), name(2)];
const spacedCalls = new Map<string, number[]>();
const spacedPipeline: PipelineDefinition = {
  name: 'spaced',
  schemasDir,
  retry: { maximumAttempts: 3, initialIntervalSeconds: 1 },
  stages: [{
    name: 'map', schema: 'item', version: '1', after: ['raw'],
    transform: (r: { id: number; label: string }, ctx) => {
      if (ctx.recordIndex === 0) {
        const calls = spacedCalls.get(ctx.partitionName) ?? [];
        calls.push(Date.now());
        spacedCalls.set(ctx.partitionName, calls);
        if (STUBBORN.includes(ctx.partitionName) && calls.length < 3) throw new PartitionError('the lookup service is unavailable');
      }
      return r;
    },
  }],
};

/** The same, with a long first wait: a run cancelled during it. */
const patientPipeline: PipelineDefinition = {
  ...spacedPipeline,
  name: 'patient',
  retry: { maximumAttempts: 3, initialIntervalSeconds: 30 },
  stages: [{
    name: 'map', schema: 'item', version: '1', after: ['raw'],
    transform: (r: { id: number; label: string }, ctx) => {
      if (ctx.recordIndex === 0 && ctx.partitionName === STUBBORN[0]) throw new PartitionError('the lookup service is unavailable');
      return r;
    },
  }],
};

let h: TestHarness;
let s3: S3Client;

beforeAll(async () => {
  h = await startHarness('batches', [pipeline, spacedPipeline, patientPipeline], { bucket: BUCKET });
  s3 = s3Client(h.cfg.s3);
  const item = loadSchema('item@1', schemasDir);
  for (let i = 0; i < N; i++) {
    const enc = new ContainerEncoder(item.type, item.json, { codec: 'deflate', sync: syncMarkerFor(name(i)) });
    const body = Buffer.concat([enc.header(), ...Array.from({ length: RECORDS }, (_, k) => enc.add({ id: k, label: `r${i}-${k}` }) ?? Buffer.alloc(0)), enc.flush() ?? Buffer.alloc(0)]);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `src/${name(i)}`, Body: body }));
    if (i < SPACED_N) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${SPACED_SRC}/${name(i)}`, Body: body }));
  }
}, 60_000);

afterAll(async () => {
  await h?.stop();
});

type Scheduled = { type: string; id: string; items: number; fresh: number };

async function ingest(id: string, extra: object, target = id): Promise<{ summary: IngestSummary; run: RunManifest; activities: Scheduled[] }> {
  const summary = await h.client.workflow.execute('ingest', {
    taskQueue: h.cfg.taskQueue, workflowId: `${id}-${process.pid}`,
    args: [{ pipeline: 'batchy', source: `s3://${BUCKET}/src/`, target: `s3://${BUCKET}/${target}/`, dataset: 'ds', pack: false, ...extra }],
  }) as IngestSummary;
  const events = (await h.client.workflow.getHandle(`${id}-${process.pid}`).fetchHistory()).events ?? [];
  const activities = events.flatMap((e) => {
    const a = e.activityTaskScheduledEventAttributes;
    const type = a?.activityType?.name ?? '';
    if (!a || !['runStage', 'runBatch'].includes(type)) return [];
    const arg = JSON.parse(Buffer.from(a.input!.payloads![0].data!).toString('utf8')) as { items?: { fresh?: true }[]; fresh?: true };
    // Partitions sent with the first-run hint (their stage was empty at planning: no commit to look for).
    const fresh = arg.items ? arg.items.filter((i) => i.fresh).length : arg.fresh ? 1 : 0;
    return [{ type, id: a.activityId!, items: arg.items?.length ?? 1, fresh }];
  });
  return { summary, run: await getJson<RunManifest>(s3, summary.manifest), activities };
}

describe('small partitions in batches', () => {
  let batched: Awaited<ReturnType<typeof ingest>>;

  it('runs up to partitionsPerActivity small partitions per activity, and a retryable failure alone', async () => {
    batched = await ingest('batched', {});
    expect(batched.summary.status).toBe('completed');
    for (const st of ['map', 'tag']) expect(batched.summary.stages[st]).toMatchObject({ succeeded: N, failed: 0, blocked: 0, records: { in: N * RECORDS, out: N * RECORDS, rejected: 0, dropped: 0 } });
    const batches = batched.activities.filter((a) => a.type === 'runBatch');
    // 40 partitions in runs of at most 16: three batch activities per stage.
    expect(batches.map((b) => `${b.id.split(':')[0]}:${b.items}`).sort()).toEqual(['map:16', 'map:16', 'map:8', 'tag:16', 'tag:16', 'tag:8']);
    // The flaky partition failed once inside its batch, then ran alone (with the attempts left) and succeeded.
    const alone = batched.activities.filter((a) => a.type === 'runStage');
    expect(alone).toHaveLength(1);
    expect(alone[0].id).toMatch(/^map:p-[0-9a-f]{12}$/);
    // A fresh target: every partition in a batch goes without the commit check; the one run
    // alone after its batch attempt failed does not (that attempt might have committed).
    expect(batches.every((b) => b.fresh === b.items)).toBe(true);
    expect(alone[0].fresh).toBe(0);
    expect(mapCalls.get(FLAKY)).toBe(2);
    expect([...mapCalls.entries()].filter(([k]) => k !== FLAKY).every(([, n]) => n === 1)).toBe(true);
    expect(mapCalls.size).toBe(N);
    // Its attempt in the batch counts: two attempts in all, as running alone would have taken.
    const states = (await h.client.workflow.getHandle(`batched-${process.pid}`).query<{ partitions: PartitionState[] }, [object]>('partitions', { stage: 'map', limit: 100 })).partitions;
    expect(states.filter((e) => e.attempts !== 1).map((e) => [e.name, e.attempts])).toEqual([[FLAKY, 2]]);
    // Each batch attempt's partitions are named in the run manifest like any other.
    expect(batched.run.committed.tag.map((c) => c.name)).toEqual(Array.from({ length: N }, (_, i) => name(i)));
  });

  it('writes the same bytes as one activity per partition', async () => {
    const single = await ingest('single', { partitionsPerActivity: 1 });
    expect(single.summary.status).toBe('completed');
    expect(single.activities.some((a) => a.type === 'runBatch')).toBe(false);
    expect(single.activities).toHaveLength(2 * N);
    expect(single.activities.every((a) => a.fresh === 1)).toBe(true);
    for (const st of ['map', 'tag']) {
      expect(single.run.committed[st].map((c) => [c.name, c.sha256])).toEqual(batched.run.committed[st].map((c) => [c.name, c.sha256]));
    }
  });

  it('into a target that holds the commits already: every partition is looked up first, and reused', async () => {
    const again = await ingest('again', {}, 'batched');
    expect(again.summary.status).toBe('completed');
    for (const st of ['map', 'tag']) expect(again.summary.stages[st]).toMatchObject({ succeeded: N, skipped: N, failed: 0 });
    expect(again.activities.length).toBeGreaterThan(0);
    expect(again.activities.every((a) => a.fresh === 0)).toBe(true);
    expect(again.run.committed.tag.map((c) => [c.name, c.sha256])).toEqual(batched.run.committed.tag.map((c) => [c.name, c.sha256]));
  });

  it('rejects a partitionsPerActivity out of range, naming the field', async () => {
    const err = await ingest('bad', { partitionsPerActivity: 0 }).catch((e: Error & { cause?: Error }) => e);
    expect((err as { cause?: Error }).cause?.message).toMatch(/partitionsPerActivity must be an integer from 1 to 100, got 0/);
  });
});

describe('a partition that failed in its batch', () => {
  const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => Number(t?.seconds ?? 0) * 1e3 + (t?.nanos ?? 0) / 1e6;

  it('is retried alone on its policy\'s schedule: the batch attempt is attempt 1, the waits go on from there', async () => {
    const id = `spaced-${process.pid}`;
    const summary = await h.client.workflow.execute('ingest', {
      taskQueue: h.cfg.taskQueue, workflowId: id,
      args: [{ pipeline: 'spaced', source: `s3://${BUCKET}/${SPACED_SRC}/`, target: `s3://${BUCKET}/spaced-out/`, dataset: 'ds', pack: false }],
    }) as IngestSummary;
    expect(summary.status).toBe('completed');
    expect(summary.stages.map).toMatchObject({ succeeded: SPACED_N, failed: 0 });

    // Attempt 1 in the batch, then 1 s and 2 s before attempts 2 and 3 (policy: 1 s, doubling).
    // Before the fix attempt 2 came at once and attempt 3 1 s later: 1 s of waits, not 3 s.
    for (const p of STUBBORN) {
      const t = spacedCalls.get(p)!;
      expect(t).toHaveLength(3);
      expect(t[1] - t[0]).toBeGreaterThanOrEqual(1000);
      expect(t[2] - t[1]).toBeGreaterThanOrEqual(2000);
    }

    const events = (await h.client.workflow.getHandle(id).fetchHistory()).events ?? [];
    const batch = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runBatch')!;
    const batchDone = events.find((e) => Number(e.activityTaskCompletedEventAttributes?.scheduledEventId) === Number(batch.eventId))!;
    const solo = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runStage');
    expect(solo).toHaveLength(STUBBORN.length);
    // Both wait on one timer: the wait before attempt 2.
    const timers = events.filter((e) => e.timerStartedEventAttributes);
    expect(timers.map((e) => ms(e.timerStartedEventAttributes!.startToFireTimeout))).toEqual([1000]);
    for (const e of solo) {
      const a = e.activityTaskScheduledEventAttributes!;
      // The attempts left, and the schedule going on from attempt 2: its next wait is 2 s.
      expect(a.retryPolicy).toMatchObject({ maximumAttempts: 2, backoffCoefficient: 2 });
      expect(ms(a.retryPolicy!.initialInterval)).toBe(2000);
      expect(ms(e.eventTime) - ms(batchDone.eventTime)).toBeGreaterThanOrEqual(1000);
      const started = events.find((x) => Number(x.activityTaskStartedEventAttributes?.scheduledEventId) === Number(e.eventId))!;
      expect(started.activityTaskStartedEventAttributes!.attempt).toBe(2);
      expect(ms(started.eventTime) - ms(e.eventTime)).toBeGreaterThanOrEqual(2000);
    }
    // Attempts count the batch's: three in all.
    const states = (await h.client.workflow.getHandle(id).query<{ partitions: PartitionState[] }, [object]>('partitions', { stage: 'map', limit: 100 })).partitions;
    expect(states.map((e) => [e.name, e.attempts])).toEqual([[name(0), 1], [STUBBORN[0], 3], [STUBBORN[1], 3]]);
  }, 60_000);

  it('a cancel during the wait before it runs alone ends the run cancelled at once, the partition among the cancelled', async () => {
    const id = `patient-${process.pid}`;
    const handle = await h.client.workflow.start('ingest', {
      taskQueue: h.cfg.taskQueue, workflowId: id,
      args: [{ pipeline: 'patient', source: `s3://${BUCKET}/${SPACED_SRC}/`, target: `s3://${BUCKET}/patient-out/`, dataset: 'ds', pack: false }],
    });
    await until('the wait before the solo attempt', 20_000, async () =>
      ((await handle.fetchHistory()).events ?? []).some((e) => e.timerStartedEventAttributes) || undefined);
    const asked = Date.now();
    await handle.cancel();
    const err = await handle.result().then(() => undefined, (e: Error & { cause?: Error }) => e);
    expect(err?.cause).toBeInstanceOf(CancelledFailure);
    // Not the 30 s wait, nor the solo attempts after it.
    expect(Date.now() - asked).toBeLessThan(15_000);
    const events = (await handle.fetchHistory()).events ?? [];
    expect(events.some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runStage')).toBe(false);
    const run = await getJson<RunManifest>(s3, `s3://${BUCKET}/patient-out/ds/_runs/${id}/${handle.firstExecutionRunId}.json`);
    expect(run.status).toBe('cancelled');
    expect(run.committed.map.map((c) => c.name)).toEqual([name(0), name(2)]);
    expect(run.cancelled?.map((c) => c.name)).toEqual([STUBBORN[0]]);
  }, 60_000);
});
