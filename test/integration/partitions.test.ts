import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import path from 'node:path';
import { ContainerEncoder, syncMarkerFor } from '../../src/avro/container';
import { loadSchema } from '../../src/avro/schemas';
import { IngestSummary, RunManifest } from '../../src/manifest/run';
import { IngestInput } from '../../src/pipeline/input';
import { PartitionError, PipelineDefinition, StageDefinition } from '../../src/pipeline/types';
import { copyPipeline } from '../../src/pipelines/copy';
import { s3Client } from '../../src/storage/client';
import { decodeUrl } from '../helpers/s3';
import { manifestOf, runOf } from '../helpers/runs';
import { startHarness, TestHarness } from '../helpers/stack';
import { ensureBucket } from '../../src/stack/embedded';

/**
 * Partitions as stable, content-addressed pieces of data, on the real stack: what a nightly
 * reprocess recomputes when objects are added or changed, stages are bumped or lookups change.
 */
const BUCKET = 'it-partitions';
const schemasDir = path.join(__dirname, '../fixtures/schemas');
const item = loadSchema('item@1', schemasDir);
let s3: S3Client;
let h: TestHarness;

type Item = { id: number; label: string };

/** Three stages: clean, then enrich (reads the `names` lookup), then final (the enriched records as they are). */
function incremental(enrichVersion: string, enrichFails?: (r: Item) => boolean): PipelineDefinition {
  const enrich: StageDefinition = {
    name: 'enrich', schema: 'tagged', version: enrichVersion, lookups: ['names'],
    setup: async (ctx) => (await ctx.lookup('names'))[0]?.name ?? '?',
    transform: (r: Item, ctx) => {
      if (enrichFails?.(r)) throw new PartitionError(`enrich ${enrichVersion} cannot handle ${ctx.partitionName}`, { retryable: false });
      return { ...r, from: String(ctx.state) };
    },
  };
  return {
    name: 'inc', schemasDir,
    lookups: { names: { defaultKey: 'ref/names.csv', format: 'csv' } },
    stages: [
      { name: 'clean', schema: 'item', version: '1', lookups: [], transform: (r: Item) => (r.label === 'bad' ? Promise.reject(new Error(`label "bad" (id ${r.id})`)) : { id: r.id, label: r.label.trim() }) },
      enrich,
      { name: 'final', schema: '@input', version: '1', lookups: [], transform: (r: unknown) => r },
    ],
  };
}

function avroFile(name: string, records: Item[], blockBytes?: number): Buffer {
  const enc = new ContainerEncoder(item.type, item.json, { codec: 'null', sync: syncMarkerFor(name), blockBytes });
  const parts = [enc.header()];
  for (const r of records) parts.push(enc.add(r) ?? Buffer.alloc(0));
  parts.push(enc.flush() ?? Buffer.alloc(0));
  return Buffer.concat(parts);
}

const put = (key: string, body: Buffer | string) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
const feed = (n: number, tag = '') => Array.from({ length: 60 }, (_, i) => ({ id: n * 1000 + i, label: `feed ${n} offer ${i}${tag}` }));
const feedKey = (n: number) => `feeds/m-${String(n).padStart(4, '0')}.avro`;

async function ingest(id: string, input: Partial<IngestInput> = {}, harness = h): Promise<{ summary: IngestSummary; run: RunManifest }> {
  const summary = (await harness.client.workflow.execute('ingest', {
    taskQueue: harness.cfg.taskQueue, workflowId: `${id}-${process.pid}`, workflowExecutionTimeout: '3m',
    args: [{ pipeline: 'inc', source: `s3://${BUCKET}/feeds/`, target: `s3://${BUCKET}/out/`, dataset: 'offers', partitionBytes: 16 * 1024, maxParallel: 4, ...input }],
  })) as IngestSummary;
  return { summary, run: await runOf(s3, summary) };
}

/** Per stage: how many partitions this run computed, and the records they read. */
function computed(run: RunManifest): Record<string, { partitions: number; records: number }> {
  return Object.fromEntries(Object.entries(run.committed).map(([stage, list]) => {
    const mine = list.filter((c) => c.result === 'computed');
    return [stage, { partitions: mine.length, records: mine.reduce((n, c) => n + c.counts.in, 0) }];
  }));
}

const outputs = (run: RunManifest, stage: string) => new Map(run.committed[stage].map((c) => [c.partition, c.output]));

beforeAll(async () => {
  h = await startHarness('partitions', [incremental('1'), copyPipeline], { bucket: BUCKET });
  s3 = s3Client(h.cfg.s3);
  await put('ref/names.csv', 'name\nmerchant-registry-v1\n');
  for (let n = 0; n < 400; n += 10) await put(feedKey(n), avroFile(feedKey(n), feed(n)));
});

afterAll(async () => {
  await h?.stop();
});

describe('incremental reprocessing of a packed dataset', () => {
  let base: RunManifest;

  it('packs 40 small feeds into a few partitions and computes them all once', async () => {
    ({ run: base } = await ingest('inc-base'));
    expect(base.status).toBe('completed');
    expect(base.partitions).toBeGreaterThan(3);
    expect(base.partitions).toBeLessThan(20);
    expect(computed(base).clean).toEqual({ partitions: base.partitions, records: 40 * 60 });
  });

  it('re-running the unchanged dataset processes 0 records', async () => {
    const { run } = await ingest('inc-same');
    expect(run.plan).toBe(base.plan);
    for (const stage of ['clean', 'enrich', 'final']) expect(computed(run)[stage]).toEqual({ partitions: 0, records: 0 });
    expect(run.stages.final.records.out).toBe(40 * 60);
  });

  let inserted: RunManifest;
  it('inserting an object in the middle of the listing leaves every other partition as it was', async () => {
    await put(feedKey(155), avroFile(feedKey(155), feed(155)));
    ({ run: inserted } = await ingest('inc-insert'));
    const holder = inserted.committed.clean.find((c) => c.name.startsWith('m-01') && c.result === 'computed');
    expect(holder).toBeDefined();
    for (const stage of ['clean', 'enrich', 'final']) {
      const before = outputs(base, stage);
      const fresh = inserted.committed[stage].filter((c) => c.result === 'computed');
      expect(fresh.length).toBeGreaterThanOrEqual(1);
      expect(fresh.length).toBeLessThanOrEqual(2); // the pack that takes it, and at most one a key boundary splits off
      for (const c of inserted.committed[stage].filter((x) => x.result === 'reused')) expect(before.get(c.partition)).toBe(c.output);
      // Every partition not recomputed kept its id and its output key.
      expect(inserted.committed[stage].length - fresh.length).toBeGreaterThanOrEqual(base.committed[stage].length - 2);
    }
    expect(computed(inserted).clean.records).toBeLessThanOrEqual(60 * 12);
  });

  it('one changed feed recomputes only its partition chain, and its id stays the same', async () => {
    await put(feedKey(250), avroFile(feedKey(250), feed(250, ' (updated)')));
    const { run } = await ingest('inc-change');
    const ids = (r: RunManifest) => r.committed.clean.map((c) => c.partition).sort();
    expect(ids(run)).toEqual(ids(inserted));
    const holder = run.committed.clean.find((c) => c.result === 'computed')!;
    for (const stage of ['clean', 'enrich', 'final']) {
      expect(run.committed[stage].filter((c) => c.result === 'computed').map((c) => c.partition)).toEqual([holder.partition]);
    }
    const m = await manifestOf(s3, holder);
    expect(m.inputs.map((i) => i.url)).toContain(`s3://${BUCKET}/${feedKey(250)}`);
    // The partition's history follows it across runs: computed, reused, reused, computed.
    expect(run.committed.final.find((c) => c.partition === holder.partition)!.output).not.toBe(outputs(inserted, 'final').get(holder.partition));
  });

  it('changing a lookup table recomputes only the stages that use it (and what reads them)', async () => {
    await put('ref/names.csv', 'name\nmerchant-registry-v2\n');
    const { run } = await ingest('inc-lookup');
    const c = computed(run);
    expect(c.clean.partitions).toBe(0);
    expect(c.enrich.partitions).toBe(run.partitions);
    expect(c.final.partitions).toBe(run.partitions);
    const rec = (await decodeUrl(s3, run.committed.final[0].output)) as { from: string }[];
    expect(rec[0].from).toBe('merchant-registry-v2');
  });

  it('bumping a stage version recomputes that stage and its descendants only; manifests keep each code version', async () => {
    await h.stop();
    h = await startHarness('partitions', [incremental('2'), copyPipeline], { bucket: BUCKET });
    const { run } = await ingest('inc-bump');
    const c = computed(run);
    expect(c.clean.partitions).toBe(0);
    expect(c.enrich.partitions).toBe(run.partitions);
    expect(c.final.partitions).toBe(run.partitions);
    expect(run.committed.clean.every((x) => x.codeVersion === '1')).toBe(true);
    expect(run.committed.enrich.every((x) => x.codeVersion === '2')).toBe(true);
  });

  it('a retry after deploying a fixed stage version runs the new code and completes', async () => {
    await h.stop();
    // Version 3 of enrich fails one partition for good; the run waits for a retry.
    h = await startHarness('partitions', [incremental('3', (r) => Math.floor(r.id / 1000) === 250), copyPipeline], { bucket: BUCKET });
    const handle = await h.client.workflow.start('ingest', {
      taskQueue: h.cfg.taskQueue, workflowId: `inc-fix-${process.pid}`, workflowExecutionTimeout: '3m',
      args: [{ pipeline: 'inc', source: `s3://${BUCKET}/feeds/`, target: `s3://${BUCKET}/out/`, dataset: 'offers', partitionBytes: 16 * 1024, waitForRetry: '2m' }],
    });
    const deadline = Date.now() + 60_000;
    while ((await handle.query<{ phase: string }>('progress')).phase !== 'waiting-for-retry') {
      if (Date.now() > deadline) throw new Error('the run never waited for a retry');
      await new Promise((r) => setTimeout(r, 200));
    }
    // Deploy version 4, which fixes it, and retry: no attempt waits for "a matching worker".
    await h.stop();
    h = await startHarness('partitions', [incremental('4'), copyPipeline], { bucket: BUCKET });
    const again = h.client.workflow.getHandle(handle.workflowId);
    const res = await again.executeUpdate<{ requeued: unknown[] }, [object]>('retryFailed', { args: [{}] });
    expect(res.requeued.length).toBe(2); // enrich, and final which it blocked
    const summary = (await again.result()) as IngestSummary;
    expect(summary.status).toBe('completed');
    const run = await runOf(s3, summary);
    const versions = [...new Set(run.committed.enrich.map((x) => x.codeVersion))].sort();
    expect(versions).toEqual(['3', '4']); // a run with mixed versions: each manifest says which code made it
    const fixed = run.committed.enrich.filter((x) => x.codeVersion === '4');
    expect(fixed).toHaveLength(1);
    expect((await manifestOf(s3, run.committed.clean.find((x) => x.partition === fixed[0].partition)!)).inputs.map((i) => i.url)).toContain(`s3://${BUCKET}/${feedKey(250)}`);
  });
});

describe('splitting and packing', () => {
  it('splits a big Avro object at block boundaries; the output equals a plain copy record for record', async () => {
    const records = Array.from({ length: 20_000 }, (_, i) => ({ id: i, label: `offer ${i} ${'x'.repeat(i % 37)}` }));
    await put('big/feed.avro', avroFile('big/feed.avro', records, 8_000));
    const one = (await h.client.workflow.execute('ingest', {
      taskQueue: h.cfg.taskQueue, workflowId: `big-one-${process.pid}`, workflowExecutionTimeout: '3m',
      args: [{ pipeline: 'copy', source: `s3://${BUCKET}/big/`, target: `s3://${BUCKET}/big-one/` }],
    })) as IngestSummary;
    const split = (await h.client.workflow.execute('ingest', {
      taskQueue: h.cfg.taskQueue, workflowId: `big-split-${process.pid}`, workflowExecutionTimeout: '3m',
      args: [{ pipeline: 'copy', source: `s3://${BUCKET}/big/`, target: `s3://${BUCKET}/big-split/`, splitBytes: 100 * 1024 }],
    })) as IngestSummary;
    expect(one.partitions).toBe(1);
    expect(split.partitions).toBeGreaterThanOrEqual(5);
    expect(split.stages.copy.records).toEqual({ in: 20_000, out: 20_000, rejected: 0, dropped: 0 });
    const run = await runOf(s3, split);
    expect(run.committed.copy.map((c) => c.name)).toEqual(Array.from({ length: split.partitions }, (_, i) => `feed.avro#${i + 1}/${split.partitions}`));
    const got: unknown[] = [];
    for (const c of run.committed.copy) {
      const part = await decodeUrl(s3, c.output);
      expect(part.length).toBeGreaterThan(0);
      got.push(...part);
    }
    expect(got).toEqual(await decodeUrl(s3, (await runOf(s3, one)).committed.copy[0].output));
    expect(got).toEqual(records);
  });

  it('packed partitions keep in = out + rejected + dropped, and rejects name their source object and position', async () => {
    for (let n = 0; n < 6; n++) {
      const rs = feed(n).map((r, i) => (i % 20 === n ? { ...r, label: 'bad' } : r));
      await put(`mixed/f-${n}.avro`, avroFile(`mixed-${n}`, rs));
    }
    const summary = (await h.client.workflow.execute('ingest', {
      taskQueue: h.cfg.taskQueue, workflowId: `mixed-${process.pid}`, workflowExecutionTimeout: '3m',
      args: [{ pipeline: 'inc', source: `s3://${BUCKET}/mixed/`, target: `s3://${BUCKET}/mixed-out/`, partitionBytes: 64 * 1024 * 1024 }],
    })) as IngestSummary;
    expect(summary.partitions).toBe(1);
    const run = await runOf(s3, summary);
    const [clean] = run.committed.clean;
    expect(clean.counts).toEqual({ in: 360, out: 342, rejected: 18, dropped: 0 });
    const m = await manifestOf(s3, clean);
    expect(m.inputs.map((i) => i.url)).toEqual(Array.from({ length: 6 }, (_, n) => `s3://${BUCKET}/mixed/f-${n}.avro`));
    const rejects = (await decodeUrl(s3, m.rejects!.url)) as { source: string; index: number; reason: string }[];
    expect(rejects.map((r) => [r.source.replace(`s3://${BUCKET}/mixed/`, ''), r.index])).toEqual(
      Array.from({ length: 6 }, (_, n) => [0, 1, 2].map((k) => [`f-${n}.avro`, n + 20 * k])).flat(),
    );
    expect(rejects[0].reason).toMatch(/label "bad"/);
  });
});

describe('never re-ingesting outputs', () => {
  it('ingesting a bucket root twice reads only the source objects the second time', async () => {
    const bucket = 'it-partitions-root';
    await ensureBucket(s3, bucket);
    for (let n = 0; n < 3; n++) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `feed-${n}.avro`, Body: avroFile(`root-${n}`, feed(n)) }));
    const once = async (id: string) => (await h.client.workflow.execute('ingest', {
      taskQueue: h.cfg.taskQueue, workflowId: `${id}-${process.pid}`, workflowExecutionTimeout: '2m',
      args: [{ pipeline: 'copy', source: `s3://${bucket}/`, pack: false }],
    })) as IngestSummary;
    const first = await once('root-1');
    // The default target, datasets/ in the source bucket, lies inside the source.
    expect(first.outputPrefix).toBe(`s3://${bucket}/datasets/${bucket}/`);
    const second = await once('root-2');
    for (const r of [first, second]) {
      expect(r.partitions).toBe(3);
      expect(r.stages.copy.records.in).toBe(180);
    }
    expect(second.plan).toBe(first.plan);
    expect(second.stages.copy.skipped).toBe(3);
  });

  it('refuses a target inside the source that holds objects partflow did not write', async () => {
    const bucket = 'it-partitions-inside';
    await ensureBucket(s3, bucket);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'data/a.avro', Body: avroFile('in-a', feed(1)) }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'data/out/d/b.avro', Body: avroFile('in-b', feed(2)) }));
    const err = await h.client.workflow.execute('ingest', {
      taskQueue: h.cfg.taskQueue, workflowId: `inside-${process.pid}`, workflowExecutionTimeout: '1m',
      args: [{ pipeline: 'copy', source: `s3://${bucket}/data/`, target: `s3://${bucket}/data/out/`, dataset: 'd' }],
    }).catch((e: Error & { cause?: Error & { cause?: Error & { type?: string } } }) => e.cause?.cause ?? e.cause);
    expect((err as { type?: string }).type).toBe('InvalidInput');
    expect((err as Error).message).toMatch(/the target s3:\/\/it-partitions-inside\/data\/out\/d\/ lies inside the source s3:\/\/it-partitions-inside\/data\/ and already holds objects that partflow did not write/);
  });
});
