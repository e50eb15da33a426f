import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import path from 'node:path';
import { ContainerEncoder, syncMarkerFor } from '../../src/avro/container';
import { loadSchema } from '../../src/avro/schemas';
import { IngestSummary, RunManifest } from '../../src/manifest/run';
import { PartitionError, PipelineDefinition } from '../../src/pipeline/types';
import { s3Client } from '../../src/storage/client';
import type { PartitionState } from '../../workflows/state';
import { getJson } from '../helpers/s3';
import { startHarness, TestHarness } from '../helpers/stack';

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

let h: TestHarness;
let s3: S3Client;

beforeAll(async () => {
  h = await startHarness('batches', [pipeline], { bucket: BUCKET });
  s3 = s3Client(h.cfg.s3);
  const item = loadSchema('item@1', schemasDir);
  for (let i = 0; i < N; i++) {
    const enc = new ContainerEncoder(item.type, item.json, { codec: 'deflate', sync: syncMarkerFor(name(i)) });
    const body = Buffer.concat([enc.header(), ...Array.from({ length: RECORDS }, (_, k) => enc.add({ id: k, label: `r${i}-${k}` }) ?? Buffer.alloc(0)), enc.flush() ?? Buffer.alloc(0)]);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `src/${name(i)}`, Body: body }));
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
