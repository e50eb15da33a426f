import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import type { PartitionManifest } from '../../src/manifest/partition';
import type { IngestSummary, RunManifest } from '../../src/manifest/run';
import { logger } from '../../src/log';
import { INHERIT_SCHEMA, PartitionError, passThrough, PipelineDefinition, StageDefinition } from '../../src/pipeline/types';
import { readSnapshot } from '../../src/snapshots';
import { s3Client } from '../../src/storage/client';
import { listObjects } from '../../src/storage/objects';
import { connectTemporal } from '../../src/temporal/connect';
import { ensureBucket } from '../../src/stack/embedded';
import { bundleWorkflows, createWorker } from '../../src/worker/worker';
import type { Progress } from '../../workflows/state';
import { runCli } from '../helpers/cli';
import { getJson } from '../helpers/s3';
import { testConfig } from '../helpers/stack';
import { until } from '../helpers/until';

/**
 * Workers compute with their own definitions of a stage (a rolling deploy never stalls a run), so
 * a run can end up with outputs of two definitions of one stage. Made deterministic here: a worker
 * with version 1 plans the run and fails every partition of `enrich`; a worker with version 7 of
 * the same pipeline then takes over the task queue and runs the retry. The run must say so: a
 * warning in the worker's log (once per run and stage), and in its result, its run manifest and
 * what `partflow status` prints. Needs `npm run build` (the CLI runs dist/).
 */
const BUCKET = 'it-version-skew';
const cfg = testConfig(`test-skew-${process.pid}`, BUCKET);
let s3: S3Client;
let client: Client;
let closeClient: () => Promise<void>;
const bundle = bundleWorkflows();

const stage = (name: string, version: string, extra: Partial<StageDefinition> = {}): StageDefinition => ({ name, schema: INHERIT_SCHEMA, version, transform: passThrough, ...extra });

function pipeline(enrich: Partial<StageDefinition> & { version: string }, lookups?: PipelineDefinition['lookups']): PipelineDefinition {
  // clean reads no lookup in either definition: only enrich differs.
  return { name: 'skewed', stages: [stage('clean', '1', { lookups: [] }), stage('enrich', enrich.version, enrich)], ...(lookups ? { lookups } : {}) };
}

/** Version 1 of enrich: fails every partition for good, so the run waits for a retry. */
const planned = pipeline({ version: '1', transform: () => { throw new PartitionError('not this definition', { retryable: false }); } });

async function startWorker(p: PipelineDefinition): Promise<{ worker: Worker; done: Promise<void> }> {
  const { worker, connection } = await createWorker({ config: cfg, pipelines: [p], workflowBundle: await bundle, concurrency: 4 });
  const done = worker.run().finally(() => connection.close());
  return { worker, done };
}

/** A run planned and failed by the version-1 worker, then retried by a worker with `other` (after `beforeRetry`, if given). */
async function retriedBy(other: PipelineDefinition, id: string, failsAgain?: RegExp, partitionsPerActivity = 1, beforeRetry?: () => Promise<void>): Promise<IngestSummary | Error> {
  const first = await startWorker(planned);
  const handle = await client.workflow.start('ingest', {
    taskQueue: cfg.taskQueue, workflowId: `${id}-${process.pid}`,
    args: [{ pipeline: 'skewed', source: `s3://${BUCKET}/in/`, target: `s3://${BUCKET}/out-${id}/`, partitionRecords: 2, partitionsPerActivity, waitForRetry: '10m' }],
  });
  try {
    await until('the run to wait for a retry', 60_000, async () => ((await handle.query<Progress>('progress')).phase === 'waiting-for-retry' ? true : undefined), 500);
  } finally {
    first.worker.shutdown();
    await first.done;
  }
  await beforeRetry?.();
  const second = await startWorker(other);
  try {
    await handle.executeUpdate('retryFailed', { args: [{}] });
    if (failsAgain) {
      // The retry fails too: end the run now rather than after its wait for another retry.
      const waits = await until('the retry to fail', 60_000, async () => {
        const p = await handle.query<Progress>('progress');
        // A run that ended instead of waiting again is for the caller's expectations to catch.
        if (p.phase === 'done') return false;
        return p.phase === 'waiting-for-retry' && p.failed.some((f) => failsAgain.test(f)) ? true : undefined;
      }, 500);
      if (waits) await handle.executeUpdate('finishPartial');
    }
    return await (handle.result() as Promise<IngestSummary>).catch((e: Error) => e);
  } finally {
    second.worker.shutdown();
    await second.done;
  }
}

beforeAll(async () => {
  s3 = s3Client(cfg.s3);
  await ensureBucket(s3, BUCKET);
  // 3 chunks of 2 records: 3 partitions.
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'in/a.jsonl', Body: [1, 2, 3, 4, 5, 6].map((i) => JSON.stringify({ id: i })).join('\n') + '\n' }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'ref/products.csv', Body: 'sku,name\na,A\n' }));
  const connection = await connectTemporal(cfg.temporal);
  client = new Client({ connection, namespace: cfg.temporalNamespace });
  closeClient = () => connection.close();
});

afterAll(async () => {
  await closeClient?.();
});

afterEach(() => jest.restoreAllMocks());

/** Keys of a run's committed clean outputs (not rejects) and manifests, under its target. */
async function cleanObjects(id: string): Promise<{ outputs: string[]; manifests: string[] }> {
  const keys = (await listObjects(s3, BUCKET, `out-${id}/`)).map((o) => o.key).filter((k) => /\/clean\/p-[0-9a-f]+\/[^/]+$/.test(k));
  return { outputs: keys.filter((k) => k.endsWith('.avro') && !k.endsWith('.rejects.avro')), manifests: keys.filter((k) => k.endsWith('.json')) };
}

/** Clean's committed outputs are lost (their manifests deleted): a retry has none to read and must run clean again. */
const dropCleanManifests = (id: string) => async () => {
  for (const k of (await cleanObjects(id)).manifests) await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: k }));
};

/**
 * What the retried enrich read is what the run manifest and the snapshot name for clean, and the
 * counts add up: enrich read every record clean wrote, partition by partition.
 */
async function expectOneLineage(r: IngestSummary): Promise<RunManifest> {
  const manifest = await getJson<RunManifest>(s3, r.manifest);
  expect(manifest.committed.clean).toHaveLength(3);
  expect(manifest.committed.enrich).toHaveLength(3);
  const clean = new Map(manifest.committed.clean.map((e) => [e.partition, e]));
  for (const e of manifest.committed.enrich) {
    const m = await getJson<PartitionManifest>(s3, e.manifest);
    expect(m.inputs.map((i) => i.url)).toEqual([clean.get(e.partition)?.output]);
    expect(m.counts.in).toBe(clean.get(e.partition)?.counts.out);
  }
  const snap = await readSnapshot(s3, r.outputPrefix, r.snapshot!.number);
  const outputs = (es: { partition: string; output: string }[]) => es.map((e) => [e.partition, e.output]).sort();
  expect(outputs(snap.stages.clean)).toEqual(outputs(manifest.committed.clean));
  expect(outputs(snap.stages.enrich)).toEqual(outputs(manifest.committed.enrich));
  expect(r.stages.clean.records.out).toBe(r.stages.enrich.records.in);
  return manifest;
}

describe('outputs of two definitions of one stage in one run are said, not mixed in silence', () => {
  it('a worker warns once per run and stage; the result, the run manifest and partflow status name the versions', async () => {
    const warn = jest.spyOn(logger(), 'warn');
    const r = await retriedBy(pipeline({ version: '7' }), 'skew');
    if (r instanceof Error) throw r;
    expect(r.status).toBe('completed');
    expect(r.stages.enrich).toMatchObject({ succeeded: 3, failed: 0 });
    expect(r.versionSkew).toEqual({ taskQueue: cfg.taskQueue, stages: [{ stage: 'enrich', planned: '1', computed: { 7: 3 } }] });
    const manifest = await getJson<RunManifest>(s3, r.manifest);
    expect(manifest.versionSkew).toEqual(r.versionSkew);
    expect(manifest.committed.enrich.map((p) => p.codeVersion)).toEqual(['7', '7', '7']);

    // Three partitions of enrich ran on the version-7 worker: one warning, naming everything.
    const skewWarnings = warn.mock.calls.filter((c) => /differs from the one the run was planned with/.test(String(c[1])));
    expect(skewWarnings).toHaveLength(1);
    expect(skewWarnings[0][0]).toMatchObject({ pipeline: 'skewed', stage: 'enrich', workflowId: `skew-${process.pid}`, workerVersion: '7', plannedVersion: '1' });
    expect(skewWarnings[0][1]).toBe(`run skew-${process.pid}: this worker's definition of stage "enrich" of pipeline "skewed" differs from the one the run was planned with `
      + `(version 7 here, 1 in the plan): two workers on task queue "${cfg.taskQueue}" register different definitions of pipeline "skewed", or a deploy was under way. `
      + 'This worker computes the stage with its own definition, so the run\'s outputs may come from both; run one definition per pipeline and task queue (bump the version with every change)');

    const status = await runCli(cfg, 'status', `skew-${process.pid}`);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`  WARNING:  stage enrich: 3 partitions computed by version 7, planned with version 1: two workers on task queue "${cfg.taskQueue}" `
      + 'register different definitions of pipeline "skewed", or a deploy was under way; the run manifest says which version made each partition\n');
  });

  // A retry of enrich reads clean's committed output, which the workflow asks the worker for.
  // A worker whose definition of clean gives another content version (a bumped version here)
  // used to compute clean again with it: a second output per partition, which enrich read while
  // the run manifest and snapshot named the first, and which gc then deleted.
  it.each([1, 3])('a retry after a deploy that changes an upstream stage reads its committed output, the one the run manifest and snapshot name (partitionsPerActivity %i)', async (perActivity) => {
    const id = `skew-reads-${perActivity}`;
    const cleanBumped: PipelineDefinition = { name: 'skewed', stages: [stage('clean', '2', { lookups: [] }), stage('enrich', '7')] };
    let before: string[] = [];
    const r = await retriedBy(cleanBumped, id, undefined, perActivity, async () => { before = (await cleanObjects(id)).outputs; });
    if (r instanceof Error) throw r;
    expect(r.status).toBe('completed');
    expect(r.stages.clean).toMatchObject({ succeeded: 3, failed: 0, blocked: 0 });
    expect(r.stages.enrich).toMatchObject({ succeeded: 3, failed: 0, blocked: 0 });
    // No output of clean was written by the retry: the version-2 worker computed none.
    expect(before).toHaveLength(3);
    expect((await cleanObjects(id)).outputs).toEqual(before);
    const manifest = await expectOneLineage(r);
    expect(manifest.committed.clean.map((e) => e.codeVersion)).toEqual(['1', '1', '1']);
    expect(manifest.committed.enrich.map((e) => e.codeVersion)).toEqual(['7', '7', '7']);
  });

  // When clean's committed output is gone, the retrying worker computes it: the run manifest and
  // snapshot then name that output, the one enrich read, as computed by this run.
  it.each([1, 3])('a retry that finds an upstream output gone computes it, and the run manifest and snapshot name the new one (partitionsPerActivity %i)', async (perActivity) => {
    const id = `skew-recompute-${perActivity}`;
    const cleanBumped: PipelineDefinition = { name: 'skewed', stages: [stage('clean', '2', { lookups: [] }), stage('enrich', '7')] };
    const r = await retriedBy(cleanBumped, id, undefined, perActivity, dropCleanManifests(id));
    if (r instanceof Error) throw r;
    expect(r.status).toBe('completed');
    expect(r.stages.clean).toMatchObject({ succeeded: 3, failed: 0, blocked: 0 });
    const manifest = await expectOneLineage(r);
    expect(manifest.committed.clean.map((e) => [e.codeVersion, e.result])).toEqual([['2', 'computed'], ['2', 'computed'], ['2', 'computed']]);
  });

  // That computing can fail (another definition, reading a lookup the plan lacks). It used to be
  // lost: enrich ended blocked, nothing failed, and the run ended partial at once instead of
  // waiting for a retry.
  it.each([1, 3])('an upstream stage that fails when a retry runs it again to read its output fails the retried stage, which waits for a retry (partitionsPerActivity %i)', async (perActivity) => {
    const lookups = { products: { defaultKey: 'ref/products.csv', format: 'csv' as const } };
    const cleanDiffers: PipelineDefinition = { name: 'skewed', stages: [stage('clean', '2', { lookups: ['products'] }), stage('enrich', '7')], lookups };
    const id = `skew-upstream-${perActivity}`;
    const r = await retriedBy(cleanDiffers, id, /reads lookup/, perActivity, dropCleanManifests(id));
    if (r instanceof Error) throw r;
    expect(r.status).toBe('partial');
    expect(r.stages.clean).toMatchObject({ succeeded: 3, failed: 0, blocked: 0 });
    expect(r.stages.enrich).toMatchObject({ succeeded: 0, failed: 3, blocked: 0 });
    const error = r.stages.enrich.failures[0].error;
    expect(error).toMatch(/^stage "enrich" partition p-[0-9a-f]+ \(a\.jsonl#\d\/3\): its input, the committed output of stage "clean", could not be read: asking this worker for it \(the output committed earlier that reads this partition's inputs, else stage "clean" run again\) failed: /);
    expect(error).toContain('reads lookup "products", which plan ');
  });

  it('a stage that reads a lookup the planning worker\'s definition did not declare says the definitions differ', async () => {
    const withLookup = pipeline({ version: '7', lookups: ['products'] }, { products: { defaultKey: 'ref/products.csv', format: 'csv' } });
    const r = await retriedBy(withLookup, 'skew-lookup', /reads lookup/);
    if (r instanceof Error) throw r;
    expect(r.status).toBe('partial');
    const error = r.stages.enrich.failures[0].error;
    expect(error).toContain('reads lookup "products", which plan ');
    expect(error).toContain(`did not resolve. This worker's definition of the stage (version 7) differs from the one of the worker that planned the run (version 1, lookups: none): `
      + `two workers on task queue "${cfg.taskQueue}" register different definitions of pipeline "skewed", or a deploy was under way. Run every worker with one definition, then start a new ingest`);
  });
});
