import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import http from 'node:http';
import path from 'node:path';
import { createActivities } from '../../activities';
import { HEARTBEAT_MS } from '../../activities/partition-run';
import { ContainerEncoder, syncMarkerFor } from '../../src/avro/container';
import { loadSchema } from '../../src/avro/schemas';
import { PartitionResult } from '../../src/manifest/partition';
import { resolveIngestInput } from '../../src/pipeline/input';
import { PlanSummary } from '../../src/pipeline/plan';
import { PipelineRegistry } from '../../src/pipeline/registry';
import { builtinPipelines } from '../../src/pipelines';
import { ensureBucket } from '../../src/stack/embedded';
import { createS3Client, s3Client } from '../../src/storage/client';
import { conditionalWrites } from '../../src/storage/conditional';
import { getObjectBuffer } from '../../src/storage/objects';
import { testConfig } from '../helpers/stack';

/**
 * What one small partition costs the worker (issue #11, per-partition cost): its S3 requests,
 * counted by a middleware on the activities' own client against the real S3 server, and its
 * heartbeats. A one-object `copy` partition must cost four requests, and no heartbeat when it is done within
 * HEARTBEAT_MS.
 */
const BUCKET = 'it-partition-cost';
const cfg = testConfig('partition-cost', BUCKET);
const schemasDir = path.join(__dirname, '../fixtures/schemas');
let s3: S3Client;
let counted: S3Client;
let sent: string[] = [];

function itemFile(n: number, tag = ''): Buffer {
  const item = loadSchema('item@1', schemasDir);
  const enc = new ContainerEncoder(item.type, item.json, { codec: 'null', sync: syncMarkerFor(`cost-${n}-${tag}`) });
  const parts = [enc.header()];
  for (let i = 0; i < n; i++) parts.push(enc.add({ id: i, label: `l${i}${tag}` }) ?? Buffer.alloc(0));
  parts.push(enc.flush() ?? Buffer.alloc(0));
  return Buffer.concat(parts);
}

/** "GetObject <what>": the kind of key, so that the assertions read as a list of round trips. */
function what(key: string | undefined): string {
  if (!key) return '';
  if (key.includes('/_plans/')) return 'plan';
  if (key.endsWith('.json')) return 'manifest';
  if (key.endsWith('.rejects.avro')) return 'rejects';
  return key.startsWith('src/') ? 'input' : 'output';
}

const registry = new PipelineRegistry(builtinPipelines);
const plain = () => createActivities({ config: cfg, s3, registry });
const metered = () => createActivities({ config: cfg, s3: counted, registry });
/** An attempt of run `workflowId` (the same one unless said: another is another ingest). */
const env = (attempt = 1, workflowId = 'ingest-cost') => new MockActivityEnvironment({ activityId: 'copy:p-00000', attempt, retryPolicy: { maximumAttempts: 3 }, workflowExecution: { workflowId, runId: `${workflowId}-run` } }, { logger: new DefaultLogger('ERROR') });

async function plan(source: string, target: string): Promise<PlanSummary> {
  return env().run(plain().planIngest, resolveIngestInput({ pipeline: 'copy', source: `s3://${BUCKET}/${source}`, target: `s3://${BUCKET}/${target}/`, pack: false }));
}

/**
 * Runs partition `index` on the counting client; returns its result, requests, and its heartbeats
 * beyond those its run time allows: the first goes out HEARTBEAT_MS after the start, not at once.
 */
async function runStage(p: PlanSummary, index: number, opts: { fresh?: true; attempt?: number; run?: string } = {}): Promise<{ result: PartitionResult; requests: string[]; extraBeats: number }> {
  const e = env(opts.attempt, opts.run);
  let beats = 0;
  e.on('heartbeat', () => beats++);
  sent = [];
  const t0 = Date.now();
  const result = (await e.run(metered().runStage, { bucket: p.bucket, planKey: p.planKey, stage: 'copy', index, ...(opts.fresh ? { fresh: opts.fresh } : {}) })) as PartitionResult;
  return { result, requests: sent, extraBeats: Math.max(0, beats - Math.floor((Date.now() - t0) / HEARTBEAT_MS)) };
}

beforeAll(async () => {
  s3 = s3Client(cfg.s3);
  counted = createS3Client(cfg.s3);
  counted.middlewareStack.add((next, context) => async (args) => {
    sent.push(`${context.commandName?.replace(/Command$/, '')} ${what((args.input as { Key?: string }).Key)}`);
    return next(args);
  }, { step: 'initialize', name: 'countRequests' });
  await ensureBucket(s3, BUCKET);
  // The store's support for create-only writes is probed once per bucket and process: not per partition.
  await conditionalWrites(counted, BUCKET, 'out/');
  await Promise.all([0, 1].map((i) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `src/small/m-${i}.avro`, Body: itemFile(1000 + i) }))));
});

describe('the cost of a small partition', () => {
  it('a one-object copy partition makes four S3 requests (manifest check, one read, one PUT of the output, the manifest) and no heartbeat before HEARTBEAT_MS', async () => {
    const p = await plan('src/small/', 'out-four');
    expect(p.partitions).toBe(2);
    const first = await runStage(p, 0);
    expect(first.result.status).toBe('done');
    expect(first.result.counts).toEqual({ in: 1000, out: 1000, rejected: 0, dropped: 0 });
    // The plan is read once per worker (this process), by whichever partition comes first.
    expect(first.requests.filter((r) => r !== 'GetObject plan')).toEqual(['GetObject manifest', 'GetObject input', 'PutObject output', 'PutObject manifest']);
    expect(first.extraBeats).toBe(0);

    const second = await runStage(p, 1);
    expect(second.requests).toEqual(['GetObject manifest', 'GetObject input', 'PutObject output', 'PutObject manifest']);
    expect(second.extraBeats).toBe(0);
    // The output is whole, and is what was read (copy), in one create-only PUT.
    const out = await getObjectBuffer(s3, BUCKET, second.result.outputKey);
    expect(out.subarray(0, 4).toString('latin1')).toBe('Obj\x01');

    // Done already (a later ingest): the manifest answers, nothing is read or written.
    const again = await runStage(p, 1, { run: 'ingest-later' });
    expect(again.result.status).toBe('skipped');
    expect(again.requests).toEqual(['GetObject manifest']);
  });

  it('into a dataset the plan found empty, a first run makes three requests; a commit that raced in is reused; a retry or a later plan looks first', async () => {
    const p = await plan('src/small/', 'out-fresh');
    expect(p.emptyStages).toEqual(['copy']);
    const first = await runStage(p, 0, { fresh: true });
    expect(first.result.status).toBe('done');
    expect(first.requests.filter((r) => r !== 'GetObject plan')).toEqual(['GetObject input', 'PutObject output', 'PutObject manifest']);
    const bytes = await getObjectBuffer(s3, BUCKET, first.result.outputKey);

    // Committed since the plan was made (another ingest of the same source): the create-only
    // writes find the same bytes and the commit, and the partition counts as reused.
    const raced = await runStage(p, 0, { fresh: true, run: 'ingest-other' });
    expect(raced.result.status).toBe('skipped');
    expect(raced.result.contentVersion).toBe(first.result.contentVersion);
    expect(raced.requests).toEqual(['GetObject input', 'PutObject output', 'GetObject output', 'PutObject manifest', 'GetObject manifest']);
    expect(await getObjectBuffer(s3, BUCKET, first.result.outputKey)).toEqual(bytes);

    // A retried attempt may follow one that committed: it looks first, and finds its own run's work (not a reuse).
    const retried = await runStage(p, 0, { fresh: true, attempt: 2 });
    expect(retried.result.status).toBe('done');
    expect(retried.requests).toEqual(['GetObject manifest']);

    // Planned again, the stage holds commits: no first-run hint.
    expect((await plan('src/small/', 'out-fresh')).emptyStages).toEqual([]);
  });

  it('an output left by a crash before its manifest is taken as is when its bytes are the same, and an OutputConflict when they differ', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'src/conflict/a.avro', Body: itemFile(50) }));
    const p = await plan('src/conflict/', 'out-conflict');
    const { result } = await runStage(p, 0);
    const bytes = await getObjectBuffer(s3, BUCKET, result.outputKey);

    // The same bytes at the key (an attempt that died between the output and the manifest): committed.
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: result.manifestKey }));
    const redo = await runStage(p, 0);
    expect(redo.result.status).toBe('done');
    expect(await getObjectBuffer(s3, BUCKET, result.outputKey)).toEqual(bytes);

    // Other bytes at the key: never overwritten, and the partition fails non-retryably, naming it.
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: result.manifestKey }));
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: result.outputKey }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: result.outputKey, Body: itemFile(50, 'other') }));
    let err: ApplicationFailure | undefined;
    try {
      await runStage(p, 0);
    } catch (e) {
      err = e as ApplicationFailure;
    }
    expect(err?.type).toBe('OutputConflict');
    expect(err?.nonRetryable).toBe(true);
    expect(err?.message).toContain(`s3://${BUCKET}/${result.outputKey} already exists with different content`);
    expect(await getObjectBuffer(s3, BUCKET, result.outputKey)).toEqual(itemFile(50, 'other'));
  });

  it('the embedded S3 server keeps connections open: a request does not pay a TCP connect', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = () => new Promise<{ reused: boolean; connection?: string }>((resolve, reject) => {
      const req = http.get(`${cfg.s3.endpoint}/${BUCKET}/src/small/m-0.avro`, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve({ reused: req.reusedSocket, connection: res.headers.connection }));
      });
      req.on('error', reject);
    });
    try {
      const first = await get();
      expect(first.connection).not.toBe('close');
      expect((await get()).reused).toBe(true);
    } finally {
      agent.destroy();
    }
  });
});
