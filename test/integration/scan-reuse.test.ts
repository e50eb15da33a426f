import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { gzipSync } from 'node:zlib';
import { createActivities } from '../../activities';
import { IngestSummary } from '../../src/manifest/run';
import { IngestInput, resolveIngestInput } from '../../src/pipeline/input';
import { Plan, PlanSummary } from '../../src/pipeline/plan';
import { PipelineRegistry } from '../../src/pipeline/registry';
import { builtinPipelines } from '../../src/pipelines';
import { s3Client } from '../../src/storage/client';
import { parseS3Url } from '../../src/storage/s3url';
import { getJson } from '../helpers/s3';
import { startHarness, TestHarness } from '../helpers/stack';

/**
 * A nightly run over an unchanged CSV source must not read every byte of it again: objects whose
 * ETag the plan behind the latest snapshot already scanned keep that scan. Whole ingests on the
 * real stack; the plan activity is also called on its own to see what it reused.
 */
const BUCKET = 'it-scan-reuse';
let h: TestHarness;
let s3: S3Client;

const input = (extra: Partial<IngestInput> = {}): IngestInput => ({
  pipeline: 'copy', source: `s3://${BUCKET}/src/`, target: `s3://${BUCKET}/out/`, dataset: 'offers', partitionRecords: 100, ...extra,
});

async function put(key: string, body: string | Buffer): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
}

async function ingest(id: string): Promise<IngestSummary> {
  return h.client.workflow.execute('ingest', { taskQueue: h.cfg.taskQueue, workflowId: `${id}-${process.pid}`, args: [input()], workflowExecutionTimeout: '2m' });
}

/** The plan activity alone, as a run would call it. */
async function plan(extra: Partial<IngestInput> = {}): Promise<PlanSummary> {
  const acts = createActivities({ config: h.cfg, s3, registry: new PipelineRegistry(builtinPipelines) });
  const env = new MockActivityEnvironment({ activityId: 'plan' }, { logger: new DefaultLogger('ERROR') });
  return (await env.run(acts.planIngest, resolveIngestInput(input(extra)))) as PlanSummary;
}

const rows = (n: number, tag: string) => 'id,name\n' + Array.from({ length: n }, (_, i) => `${i},"${tag} ${i}${i % 7 ? '' : '\nsecond line'}"`).join('\n') + '\n';

beforeAll(async () => {
  h = await startHarness('scan-reuse', builtinPipelines, { bucket: BUCKET });
  s3 = s3Client(h.cfg.s3);
  await put('src/a.csv', rows(250, 'a')); // cut into 3 chunks of 100 records
  await put('src/b.csv', rows(2, 'b'));
  await put('src/c.csv.gz', gzipSync(rows(5, 'c')));
});

afterAll(async () => {
  await h?.stop();
});

describe('planning a dataset again', () => {
  it('reuses the scans of unchanged objects from the plan behind the latest snapshot, and gives the very same plan', async () => {
    const first = await ingest('scan-first');
    expect(first.status).toBe('completed');
    expect(first.stages.raw.records.in).toBe(257);
    const firstPlan = parseS3Url(first.plan);

    const again = await plan();
    expect(again).toMatchObject({ reusedScans: 3, scannedRecords: 257, sourceObjects: 3 });
    // A plan's key is its content's hash: the same key means the same partitions, chunks and schemas as the scans gave.
    expect(again.planKey).toBe(firstPlan.key);
    expect((await getJson<Plan>(s3, `s3://${BUCKET}/${again.planKey}`)).scanner).toEqual({ version: 2, maxRecordBytes: 16 * 1024 * 1024 });
  });

  it('scans again an object that changed (a new ETag), and only that one; the run reads its new records', async () => {
    await put('src/b.csv', rows(3, 'b2'));
    const p = await plan();
    expect(p).toMatchObject({ reusedScans: 2, scannedRecords: 258, sourceObjects: 3 });

    const second = await ingest('scan-second');
    expect(second.status).toBe('completed');
    const planned = await getJson<Plan>(s3, second.plan);
    const b = planned.partitions.flatMap((x) => x.pieces).find((x) => x.key === 'src/b.csv');
    expect(b?.records).toBe(3);
    // a.csv's three chunks were reused: not recomputed either.
    expect(second.stages.raw.skipped).toBeGreaterThanOrEqual(3);
  });

  it('scans every object again when the records per chunk differ (the chunks would)', async () => {
    const p = await plan({ partitionRecords: 50 });
    expect(p).toMatchObject({ reusedScans: 0, scannedRecords: 258 });
    expect(p.partitions).toBeGreaterThan(5);
  });
});
