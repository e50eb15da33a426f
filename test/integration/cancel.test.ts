import { ListMultipartUploadsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import { DefaultLogger } from '@temporalio/worker';
import { ActivityCancellationDetails, ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { CancelReason } from '@temporalio/worker/lib/activity';
import { Type } from 'avsc';
import { createActivities } from '../../activities';
import { ContainerEncoder, syncMarkerFor } from '../../src/avro/container';
import { PartitionManifest, PartitionResult } from '../../src/manifest/partition';
import { IngestSummary, RunManifest } from '../../src/manifest/run';
import { resolveIngestInput } from '../../src/pipeline/input';
import { PlanSummary } from '../../src/pipeline/plan';
import { PipelineRegistry } from '../../src/pipeline/registry';
import { PartitionError, PipelineDefinition } from '../../src/pipeline/types';
import { builtinPipelines } from '../../src/pipelines';
import { ensureBucket } from '../../src/stack/embedded';
import { s3Client } from '../../src/storage/client';
import { listObjects } from '../../src/storage/objects';
import { decodeUrl, getJson, getUrl, sha256 } from '../helpers/s3';
import { startHarness, testConfig, TestHarness } from '../helpers/stack';
import { temporalText } from '../helpers/temporal-text';

/**
 * How a partition attempt ends when it is cancelled, called directly in Temporal's
 * MockActivityEnvironment against the real S3 server: which cancellations give the multipart
 * upload up, and what a worker shutdown leaves for the next attempt. Then heartbeats of a slow
 * transform in a real ingest.
 */
const BUCKET = 'it-cancel';
const cfg = testConfig('cancel', BUCKET);
let s3: S3Client;

// ~12 MB of output: one 8 MiB part (a checkpoint) comes at about record 27,000, before CANCEL_AT.
const RECORDS = 40_000;
const CANCEL_AT = 36_000;
const MARK = 'PFMARK';
const rejected = (id: number) => id % 100 === 7;

let trigger: { env: MockActivityEnvironment; reason: CancelReason; details: ActivityCancellationDetails } | undefined;
const cancelme: PipelineDefinition = {
  name: 'cancelme',
  stages: [{
    name: 'copy', schema: '@input', version: '1',
    transform: (r, ctx) => {
      if (trigger && ctx.recordIndex === CANCEL_AT) trigger.env.cancel(trigger.reason, trigger.details);
      const rec = r as { id: number; payload: string };
      if (rejected(rec.id)) throw new Error(`${MARK}-reason-${rec.id}`);
      return r;
    },
  }],
};
const acts = () => createActivities({ config: cfg, s3, registry: new PipelineRegistry([...builtinPipelines, cancelme]) });
const env = (info: object = {}) => new MockActivityEnvironment(
  { activityId: 'copy:p-x', retryPolicy: { maximumAttempts: 3 }, ...info }, { logger: new DefaultLogger('ERROR') },
);

function source(): Buffer {
  const type = Type.forSchema({ type: 'record', name: 'Big', fields: [{ name: 'id', type: 'long' }, { name: 'payload', type: 'string' }] } as never);
  const enc = new ContainerEncoder(type, JSON.stringify(type.schema()), { codec: 'null', sync: syncMarkerFor('cancel-src') });
  const parts = [enc.header()];
  let seed = 9;
  const rand = () => ((seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x9e3779b9) | 0) >>> 0);
  const bytes = Buffer.alloc(300);
  for (let i = 0; i < RECORDS; i++) {
    for (let j = 0; j < bytes.length; j += 4) bytes.writeUInt32LE(rand(), j);
    const payload = (rejected(i) ? `${MARK}-record-${i}-` : '') + bytes.toString('base64');
    const b = enc.add({ id: i, payload });
    if (b) parts.push(b);
  }
  parts.push(enc.flush()!);
  return Buffer.concat(parts);
}

async function plan(target: string): Promise<PlanSummary> {
  return env().run(acts().planIngest, resolveIngestInput({ pipeline: 'cancelme', source: `s3://${BUCKET}/src/`, target: `s3://${BUCKET}/${target}/`, dataset: 'ds' }));
}

const stageReq = (p: PlanSummary) => ({ bucket: p.bucket, planKey: p.planKey, stage: 'copy', index: 0 });

async function uploads(target: string): Promise<string[]> {
  const res = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: `${target}/` }));
  return (res.Uploads ?? []).map((u) => u.Key!);
}

/** Runs the stage until its transform cancels it at CANCEL_AT; returns the error and the heartbeats sent. */
async function cancelled(target: string, reason: CancelReason, details: ActivityCancellationDetails): Promise<{ err: unknown; beats: unknown[]; p: PlanSummary }> {
  const p = await plan(target);
  const e = env();
  const beats: unknown[] = [];
  e.on('heartbeat', (d) => beats.push(d));
  trigger = { env: e, reason, details };
  try {
    await e.run(acts().runStage, stageReq(p));
  } catch (err) {
    return { err, beats, p };
  } finally {
    trigger = undefined;
  }
  throw new Error('expected the stage to be cancelled');
}

let clean: PartitionManifest;

beforeAll(async () => {
  s3 = s3Client(cfg.s3);
  await ensureBucket(s3, BUCKET);
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'src/a.avro', Body: source() }));
  const p = await plan('clean');
  const r = (await env().run(acts().runStage, stageReq(p))) as PartitionResult;
  clean = await getJson<PartitionManifest>(s3, `s3://${BUCKET}/${r.manifestKey}`);
}, 120_000);

describe('a cancelled partition attempt', () => {
  it('the clean run has rejects and more than one part', () => {
    expect(clean.counts).toEqual({ in: RECORDS, out: RECORDS - RECORDS / 100, rejected: RECORDS / 100, dropped: 0 });
    expect(clean.output.bytes).toBeGreaterThan(8 * 1024 * 1024);
  });

  it.each([
    ['TIMED_OUT', { timedOut: true }],
    ['NOT_FOUND', { notFound: true }],
  ] as const)('by %s (the server gave the attempt up) never aborts the upload a successor may be resuming', async (reason, details) => {
    const target = `t-${reason.toLowerCase()}`;
    const { err } = await cancelled(target, reason, new ActivityCancellationDetails(details));
    expect(err).toBeInstanceOf(CancelledFailure);
    expect((err as CancelledFailure).message).toBe(reason);
    expect(await uploads(target)).toEqual([expect.stringMatching(/\/copy\/p-[0-9a-f]{12}\/1-[0-9a-f]+\.avro$/)]);
  });

  it("by the user's cancel (the workflow cancelled it) aborts the upload", async () => {
    const { err } = await cancelled('t-cancelled', 'CANCELLED', new ActivityCancellationDetails({ cancelRequested: true }));
    expect(err).toBeInstanceOf(CancelledFailure);
    expect(await uploads('t-cancelled')).toEqual([]);
    expect(await listObjects(s3, BUCKET, 't-cancelled/ds/_checkpoints/')).toEqual([]);
  });

  it('by a worker shutdown leaves the upload, heartbeats the last checkpoint, and the next attempt resumes to the same bytes', async () => {
    const target = 't-shutdown';
    const { err, beats, p } = await cancelled(target, 'WORKER_SHUTDOWN', new ActivityCancellationDetails({ workerShutdown: true }));
    // A retryable failure (so the SDK flushes the last heartbeat), not a cancellation.
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe('WorkerShutdown');
    expect((err as ApplicationFailure).nonRetryable).toBe(false);
    expect(await uploads(target)).toHaveLength(1);
    const last = beats[beats.length - 1] as { progress: { stopped?: string }; checkpoint?: { counts: { in: number; rejected: number }; rejects: { spill: { key: string } | null } | null } };
    expect(last.progress.stopped).toBe('worker shutdown');
    expect(last.checkpoint!.counts.in).toBeGreaterThan(20_000);
    expect(last.checkpoint!.counts.rejected).toBeGreaterThan(0);
    // It says where the next attempt starts: after the checkpoint's records, not "the last checkpoint" whether or not there is one.
    expect((err as ApplicationFailure).message).toMatch(new RegExp(`: the worker shut down; the next attempt resumes from the checkpoint after ${last.checkpoint!.counts.in} records$`));
    // The rejects' buffered records were put aside in S3; the heartbeats carry none of them.
    const spill = last.checkpoint!.rejects!.spill!;
    expect(spill.key).toMatch(/^t-shutdown\/ds\/_checkpoints\/copy\/p-[0-9a-f]{12}\/1-[0-9a-f]+\/a1-\d+\.rejects$/);
    expect(temporalText(beats)).not.toContain(MARK);

    const next = env({ attempt: 2, heartbeatDetails: last });
    const nextBeats: unknown[] = [];
    next.on('heartbeat', (d) => nextBeats.push(d));
    const r = (await next.run(acts().runStage, stageReq(p))) as PartitionResult;
    expect(r.status).toBe('done');
    const m = await getJson<PartitionManifest>(s3, `s3://${BUCKET}/${r.manifestKey}`);
    expect(m.resumedFrom).toMatchObject({ attempt: 2, records: last.checkpoint!.counts.in });
    expect(m.counts).toEqual(clean.counts);
    expect(m.output.sha256).toBe(clean.output.sha256);
    expect(m.rejects!.sha256).toBe(clean.rejects!.sha256);
    expect(sha256(await getUrl(s3, m.rejects!.url))).toBe(clean.rejects!.sha256);
    const rejects = (await decodeUrl(s3, m.rejects!.url)) as { record: string; reason: string }[];
    expect(rejects.every((r) => r.record.includes(`${MARK}-record-`) && r.reason.startsWith(`${MARK}-reason-`))).toBe(true);
    expect(temporalText(nextBeats)).not.toContain(MARK);
    // Spills are dropped once the partition is committed.
    expect(await listObjects(s3, BUCKET, 't-shutdown/ds/_checkpoints/')).toEqual([]);
  });

  it('by a worker shutdown on the last attempt aborts the upload: no attempt follows', async () => {
    const p = await plan('t-shutdown-last');
    const e = new MockActivityEnvironment({ activityId: 'copy:p-x', retryPolicy: { maximumAttempts: 2 }, attempt: 2 }, { logger: new DefaultLogger('ERROR') });
    trigger = { env: e, reason: 'WORKER_SHUTDOWN', details: new ActivityCancellationDetails({ workerShutdown: true }) };
    try {
      await expect(e.run(acts().runStage, stageReq(p))).rejects.toMatchObject({ type: 'WorkerShutdown' });
    } finally {
      trigger = undefined;
    }
    expect(await uploads('t-shutdown-last')).toEqual([]);
  });
});

const failing: PipelineDefinition = {
    name: 'cancelme', stages: [{
      name: 'copy', schema: '@input', version: '1',
      transform: (r, ctx) => {
        if (ctx.recordIndex === CANCEL_AT) throw new PartitionError('give up', { retryable: false });
        return r;
      },
    }],
};

describe('a non-retryable failure', () => {
  const failingActs = () => createActivities({ config: cfg, s3, registry: new PipelineRegistry([...builtinPipelines, failing]) });

  it('aborts the upload', async () => {
    const p = await plan('t-giveup');
    await expect(env().run(failingActs().runStage, stageReq(p))).rejects.toMatchObject({ nonRetryable: true });
    expect(await uploads('t-giveup')).toEqual([]);
  });

  it('of an attempt the server does not have running (a zombie whose successor may be resuming) leaves the upload', async () => {
    // A real Temporal server asked about this attempt's task token does not know it, as it does
    // not know an attempt it has timed out.
    const connection = await Connection.connect({ address: cfg.temporalAddress });
    try {
      const client = new Client({ connection, namespace: cfg.temporalNamespace });
      const e = new MockActivityEnvironment({ activityId: 'copy:p-x', retryPolicy: { maximumAttempts: 3 } }, { logger: new DefaultLogger('ERROR'), client });
      const p = await plan('t-zombie');
      await expect(e.run(failingActs().runStage, stageReq(p))).rejects.toMatchObject({ nonRetryable: true });
      expect(await uploads('t-zombie')).toHaveLength(1);
    } finally {
      await connection.close();
    }
  });
});

/**
 * Set by a test: what the transform of each partition's first record waits for. It runs in the
 * test's own worker; a wait shorter than the first heartbeat (HEARTBEAT_MS after the partition's
 * start) keeps the activity from learning of a cancel meanwhile.
 */
let atFirstRecord: ((partitionName: string) => Promise<void>) | undefined;
const lingers: PipelineDefinition = {
  name: 'lingers',
  stages: [{
    name: 'copy', schema: '@input', version: '1',
    transform: (r, ctx) => (ctx.recordIndex === 0 && atFirstRecord ? atFirstRecord(ctx.partitionName).then(() => r) : r),
  }],
};
const LINGER_OBJECTS = ['l-0.avro', 'l-1.avro', 'l-2.avro'];

describe('on a real worker', () => {
  let h: TestHarness;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const slow: PipelineDefinition = {
    name: 'slowrecords',
    stages: [{ name: 'copy', schema: '@input', version: '1', transform: async (r) => { await sleep(50); return r; } }],
  };

  beforeAll(async () => {
    const giveup: PipelineDefinition = { ...failing, name: 'giveup' };
    h = await startHarness('cancel-slow', [...builtinPipelines, slow, giveup, lingers], { bucket: BUCKET });
    const type = Type.forSchema({ type: 'record', name: 'Small', fields: [{ name: 'id', type: 'long' }] } as never);
    for (const key of LINGER_OBJECTS) {
      const enc = new ContainerEncoder(type, JSON.stringify(type.schema()), { codec: 'null', sync: syncMarkerFor(key) });
      const body = Buffer.concat([enc.header(), ...Array.from({ length: 5 }, (_, id) => enc.add({ id }) ?? Buffer.alloc(0)), enc.flush()!]);
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `lingers/${key}`, Body: body }));
    }
  });
  afterEach(() => { atFirstRecord = undefined; });
  afterAll(async () => {
    await h?.stop();
  });

  it('a non-retryable failure aborts the upload once the server confirms the attempt is current', async () => {
    const handle = await h.client.workflow.start('ingest', {
      taskQueue: h.cfg.taskQueue, workflowId: `giveup-${process.pid}`, workflowExecutionTimeout: '5m',
      args: [{ pipeline: 'giveup', source: `s3://${BUCKET}/src/`, target: `s3://${BUCKET}/giveup-out/`, waitForRetry: '0' }],
    });
    const r = (await handle.result()) as IngestSummary;
    expect(r.status).toBe('partial');
    expect(r.stages.copy.failures).toEqual([expect.objectContaining({ attempts: 1, error: expect.stringMatching(/transform failed the partition at record 36000 .*: give up/) })]);
    expect(await uploads('giveup-out')).toEqual([]);
  }, 120_000);

  it('heartbeats come between records: 300 records at 50 ms each, in one block, finish on the first attempt with heartbeatTimeoutSeconds 5', async () => {
    const type = Type.forSchema({ type: 'record', name: 'Small', fields: [{ name: 'id', type: 'long' }] } as never);
    const enc = new ContainerEncoder(type, JSON.stringify(type.schema()), { codec: 'null', sync: syncMarkerFor('slow') });
    const parts = [enc.header()];
    for (let i = 0; i < 300; i++) expect(enc.add({ id: i })).toBeNull();
    parts.push(enc.flush()!);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'slow/a.avro', Body: Buffer.concat(parts) }));
    const handle = await h.client.workflow.start('ingest', {
      taskQueue: h.cfg.taskQueue, workflowId: `slow-records-${process.pid}`, workflowExecutionTimeout: '5h',
      args: [{ pipeline: 'slowrecords', source: `s3://${BUCKET}/slow/`, target: `s3://${BUCKET}/slow-out/`, heartbeatTimeoutSeconds: 5, partitionTimeout: '3h' }],
    });
    const r = (await handle.result()) as IngestSummary;
    expect(r.status).toBe('completed');
    expect(r.stages.copy.records).toEqual({ in: 300, out: 300, rejected: 0, dropped: 0 });
    const history = await handle.fetchHistory();
    const scheduled = history.events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runStage');
    expect(scheduled).toHaveLength(1);
    // partitionTimeout is the attempt's start-to-close timeout.
    expect(Number(scheduled[0].activityTaskScheduledEventAttributes!.startToCloseTimeout!.seconds)).toBe(3 * 3600);
    const started = history.events!.filter((e) => e.activityTaskStartedEventAttributes);
    expect(started.map((e) => e.activityTaskStartedEventAttributes!.attempt)).toEqual(started.map(() => 1));
    expect(history.events!.some((e) => e.activityTaskTimedOutEventAttributes)).toBe(false);
  }, 120_000);

  describe('a cancel while a partition activity runs on to its commit', () => {
    type HistoryEvent = NonNullable<Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>['events']>[number];
    const events = async (wid: string): Promise<HistoryEvent[]> => (await h.client.workflow.getHandle(wid).fetchHistory()).events ?? [];
    /** Cancels the run, then waits until the server has recorded its request to cancel an activity. */
    async function cancelAndWait(wid: string): Promise<void> {
      await h.client.workflow.getHandle(wid).cancel();
      const deadline = Date.now() + 1_500;
      while (Date.now() < deadline) {
        if ((await events(wid)).some((e) => e.activityTaskCancelRequestedEventAttributes)) return;
        await sleep(25);
      }
    }
    /** Runs `lingers` over the three objects until the cancel; its run manifest and history. */
    async function cancelled(wid: string, partitionsPerActivity: number, extra: object = {}): Promise<{ run: RunManifest; history: HistoryEvent[] }> {
      const handle = await h.client.workflow.start('ingest', {
        taskQueue: h.cfg.taskQueue, workflowId: wid, workflowExecutionTimeout: '5m',
        args: [{ pipeline: 'lingers', source: `s3://${BUCKET}/lingers/`, target: `s3://${BUCKET}/${wid}/`, dataset: 'ds', pack: false, maxParallel: 1, partitionsPerActivity, ...extra }],
      });
      const err = await handle.result().then(() => undefined, (e: Error & { cause?: Error }) => e);
      expect(err?.cause).toBeInstanceOf(CancelledFailure);
      return {
        run: await getJson<RunManifest>(s3, `s3://${BUCKET}/${wid}/ds/_runs/${wid}/${handle.firstExecutionRunId}.json`),
        history: await events(wid),
      };
    }
    /** The precondition: the activity's cancel was recorded before the activity completed. */
    const completedAfterCancel = (history: HistoryEvent[]) => {
      const asked = history.findIndex((e) => e.activityTaskCancelRequestedEventAttributes);
      expect(asked).toBeGreaterThan(0);
      expect(history.slice(asked).some((e) => e.activityTaskCompletedEventAttributes)).toBe(true);
    };
    /** What the run manifest says of the partition that committed, and that its partition manifest names this run. */
    async function committedByThisRun(run: RunManifest, wid: string, name: string): Promise<void> {
      expect(run.committed.copy.map((c) => [c.name, c.result, c.workflowId])).toEqual([[name, 'computed', wid]]);
      expect(run.committed.copy[0].counts).toEqual({ in: 5, out: 5, rejected: 0, dropped: 0 });
      expect(run.stages.copy).toMatchObject({ succeeded: 1, failed: 0, blocked: 0, cancelled: 2 });
      expect(run.cancelled?.map((c) => c.name).sort()).toEqual(LINGER_OBJECTS.filter((n) => n !== name));
      const m = await getJson<PartitionManifest>(s3, run.committed.copy[0].manifest);
      expect(m.run.workflowId).toBe(wid);
    }

    it('one activity per partition: the run manifest lists the partition as committed by this run', async () => {
      const wid = `lingers-one-${process.pid}`;
      let first: string | undefined;
      atFirstRecord = async (p) => {
        if (first) return;
        first = p;
        await cancelAndWait(wid);
      };
      const { run, history } = await cancelled(wid, 1);
      completedAfterCancel(history);
      await committedByThisRun(run, wid, first!);
    }, 60_000);

    it('a batch activity (several partitions per activity): the partitions it committed before it stopped are listed, the rest cancelled', async () => {
      const wid = `lingers-batch-${process.pid}`;
      const seen: string[] = [];
      atFirstRecord = async (p) => {
        seen.push(p);
        // The first partition commits after the cancel; the second waits for it, then stops.
        if (seen.length === 1) await cancelAndWait(wid);
        else await new Promise((r) => setTimeout(r, 20_000).unref());
      };
      const { run, history } = await cancelled(wid, 3);
      expect(history.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runBatch')).toHaveLength(1);
      completedAfterCancel(history);
      expect(seen).toHaveLength(2);
      await committedByThisRun(run, wid, seen[0]);
    }, 60_000);

    it('an activity whose worker stops answering after the cancel ends cancelled at its heartbeat timeout: the cancel waits no longer', async () => {
      const wid = `lingers-frozen-${process.pid}`;
      let first = true;
      let asked = 0;
      atFirstRecord = async () => {
        if (!first) return;
        first = false;
        await cancelAndWait(wid);
        asked = Date.now();
        // A frozen worker: no heartbeat, no answer, for longer than the heartbeat timeout.
        for (const end = Date.now() + 7_000; Date.now() < end;) { /* frozen */ }
        // It never commits (a zombie attempt's commit is another matter: the server no longer hears it).
        throw new PartitionError('frozen', { retryable: false });
      };
      const { run, history } = await cancelled(wid, 1, { heartbeatTimeoutSeconds: 5 });
      const timedOut = history.find((e) => e.activityTaskTimedOutEventAttributes)?.activityTaskTimedOutEventAttributes;
      expect(timedOut?.retryState).toBe(temporal.api.enums.v1.RetryState.RETRY_STATE_CANCEL_REQUESTED);
      expect(run.stages.copy).toMatchObject({ succeeded: 0, failed: 0, blocked: 0, cancelled: 3 });
      expect(run.committed.copy).toEqual([]);
      expect(Date.now() - asked).toBeLessThan(30_000);
    }, 60_000);
  });
});
