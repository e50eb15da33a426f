import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Type } from 'avsc';
import { ContainerEncoder, syncMarkerFor } from '../../src/avro/container';
import { IngestSummary } from '../../src/manifest/run';
import { PipelineDefinition } from '../../src/pipeline/types';
import { s3Client } from '../../src/storage/client';
import { userCodeAwaited } from '../../activities/user-code-wait';
import { startHarness, TestHarness } from '../helpers/stack';
import { until } from '../helpers/until';

/**
 * A stage's setup or async transform whose promise never settles must not hold a worker's slot:
 * it fails its partition by name (setup at PARTFLOW_SETUP_TIMEOUT, a record at the heartbeat
 * timeout), a slow setup heartbeats, and a stopping worker lets go of it after its grace.
 */
const BUCKET = 'it-hung';
const never = () => new Promise<never>(() => undefined);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const once = { maximumAttempts: 1 };

const hangSetup: PipelineDefinition = {
  name: 'hangsetup', retry: once,
  stages: [{ name: 'load', schema: '@input', version: '1', setup: never, transform: (r) => r }],
};
const slowSetup: PipelineDefinition = {
  name: 'slowsetup', retry: once,
  stages: [{ name: 'load', schema: '@input', version: '1', setup: () => sleep(7_000).then(() => 1), transform: (r) => r }],
};
const hangRecord: PipelineDefinition = {
  name: 'hangrecord', retry: once,
  stages: [{ name: 'call', schema: '@input', version: '1', transform: (r, ctx) => (ctx.recordIndex === 5 ? never() : Promise.resolve(r)) }],
};
const ok: PipelineDefinition = { name: 'ok', stages: [{ name: 'copy', schema: '@input', version: '1', transform: (r) => r }] };
const pipelines = [hangSetup, slowSetup, hangRecord, ok];

let h: TestHarness;
const saved = { ...process.env };

beforeAll(async () => {
  // One slot: a partition that kept it would stop every later ingest.
  h = await startHarness('hung', pipelines, { bucket: BUCKET, concurrency: 1 });
  const type = Type.forSchema({ type: 'record', name: 'Row', fields: [{ name: 'id', type: 'long' }] } as never);
  const enc = new ContainerEncoder(type, JSON.stringify(type.schema()), { codec: 'null', sync: syncMarkerFor('hung') });
  const parts = [enc.header()];
  for (let i = 0; i < 20; i++) enc.add({ id: i });
  parts.push(enc.flush()!);
  await s3Client(h.cfg.s3).send(new PutObjectCommand({ Bucket: BUCKET, Key: 'src/a.avro', Body: Buffer.concat(parts) }));
});
afterAll(async () => {
  process.env = saved;
  await h?.stop();
});

function ingest(pipeline: string, id: string, more: object = {}) {
  return h.client.workflow.start('ingest', {
    taskQueue: h.cfg.taskQueue, workflowId: `${id}-${process.pid}`, workflowExecutionTimeout: '5m',
    args: [{ pipeline, source: `s3://${BUCKET}/src/`, target: `s3://${BUCKET}/${id}/`, heartbeatTimeoutSeconds: 5, waitForRetry: '0', ...more }],
  });
}

async function timedOut(handle: Awaited<ReturnType<typeof ingest>>): Promise<boolean> {
  const history = await handle.fetchHistory();
  return history.events!.some((e) => e.activityTaskTimedOutEventAttributes);
}

describe('user code that never settles', () => {
  it('a setup fails its partition at PARTFLOW_SETUP_TIMEOUT, naming pipeline, stage and partition, and gives its slot back', async () => {
    process.env.PARTFLOW_SETUP_TIMEOUT = '3s';
    const started = Date.now();
    const handle = await ingest('hangsetup', 'hang-setup');
    const r = (await handle.result()) as IngestSummary;
    expect(r.status).toBe('partial');
    expect(r.stages.load.failures).toEqual([expect.objectContaining({
      error: expect.stringMatching(/pipeline "hangsetup" stage "load" partition p-[0-9a-f]+ \(.*\): the stage's setup has not finished after 3 s \(PARTFLOW_SETUP_TIMEOUT\)/),
    })]);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await timedOut(handle)).toBe(false);
    // The one slot is free again.
    const next = (await (await ingest('ok', 'after-setup')).result()) as IngestSummary;
    expect(next.status).toBe('completed');
  }, 60_000);

  it('a slow setup heartbeats: 7 s with heartbeatTimeoutSeconds 5 finishes on its first attempt', async () => {
    process.env.PARTFLOW_SETUP_TIMEOUT = '30s';
    const handle = await ingest('slowsetup', 'slow-setup');
    const r = (await handle.result()) as IngestSummary;
    expect(r.status).toBe('completed');
    expect(await timedOut(handle)).toBe(false);
  }, 60_000);

  it("an async transform fails its partition at the heartbeat timeout, naming stage, partition and record, not a lost worker", async () => {
    const started = Date.now();
    const handle = await ingest('hangrecord', 'hang-record');
    const r = (await handle.result()) as IngestSummary;
    expect(r.status).toBe('partial');
    const error = r.stages.call.failures![0].error;
    expect(error).toMatch(/stage "call" partition p-[0-9a-f]+ \(.*\): the transform of record 5 of s3:\/\/it-hung\/src\/a\.avro has not settled within 5 s \(the ingest's heartbeatTimeoutSeconds\)/);
    expect(error).not.toMatch(/no heartbeat/);
    expect(Date.now() - started).toBeLessThan(25_000);
    expect(await timedOut(handle)).toBe(false);
    const next = (await (await ingest('ok', 'after-record')).result()) as IngestSummary;
    expect(next.status).toBe('completed');
  }, 60_000);

  it('a stopping worker lets go of a setup that ignores cancellation after PARTFLOW_SHUTDOWN_GRACE', async () => {
    process.env.PARTFLOW_SETUP_TIMEOUT = '10m';
    process.env.PARTFLOW_SHUTDOWN_GRACE = '1s';
    const w = await startHarness('hung-stop', pipelines, { bucket: BUCKET, concurrency: 1 });
    try {
      await w.client.workflow.start('ingest', {
        taskQueue: w.cfg.taskQueue, workflowId: `hang-stop-${process.pid}`, workflowExecutionTimeout: '5m',
        args: [{ pipeline: 'hangsetup', source: `s3://${BUCKET}/src/`, target: `s3://${BUCKET}/hang-stop/`, heartbeatTimeoutSeconds: 5 }],
      });
      await until('the setup is awaited', 30_000, async () => (userCodeAwaited().some((s) => s.includes('"hangsetup"')) ? true : undefined));
    } finally {
      const started = Date.now();
      await w.stop();
      // The grace, then the partition's hand-over (a heartbeat the server answers).
      expect(Date.now() - started).toBeLessThan(8_000);
    }
    expect(userCodeAwaited()).toEqual([]);
  }, 60_000);
});
