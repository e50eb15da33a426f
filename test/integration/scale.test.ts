import { S3Client } from '@aws-sdk/client-s3';
import { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import path from 'node:path';
import { IngestSummary, RunManifest } from '../../src/manifest/run';
import { PartitionError, PipelineDefinition } from '../../src/pipeline/types';
import { s3Client } from '../../src/storage/client';
import { listObjects } from '../../src/storage/objects';
import type { PartitionState } from '../../workflows/state';
import { runCli } from '../helpers/cli';
import { until } from '../helpers/until';
import { getJson } from '../helpers/s3';
import { startHarness, TestHarness } from '../helpers/stack';
import { putItemObjects } from '../helpers/items';

/**
 * Many tiny partitions with lowered bounds (windows of 10 partitions, continue-as-new every 80
 * events), so that windows overlap, the parent continues as new, and retries and queries have to
 * work across both.
 */
const BUCKET = 'it-scale';
const N = 120;
const CAN_EVENTS = 80;
const name = (i: number) => `o-${String(i).padStart(3, '0')}.avro`;
// b fails partitions 3 and 45; c fails 17 and 45; until healed. a of the last partition waits at
// the gate, so windows are still running when the first retry arrives.
const failB = new Set([name(3), name(45)]);
const failC = new Set([name(17), name(45)]);
let healed = false;
// The hold pipeline's partitions from #30 on wait until the test ends (or is cancelled).
let released = false;
let holdFrom = 30;
const holdPipeline: PipelineDefinition = {
  name: 'hold',
  schemasDir: path.join(__dirname, '../fixtures/schemas'),
  retry: { maximumAttempts: 1 },
  stages: [{
    name: 's', schema: 'item', version: '1', after: ['raw'],
    transform: async (r, ctx) => {
      if (Number(ctx.partitionName.slice(2, 5)) >= holdFrom) while (!released) await new Promise((res) => setTimeout(res, 50));
      return r;
    },
  }],
};
// Held partitions wait inside one record, so they send no heartbeat: give them room (a loaded
// host can take minutes to get from a hold to its release).
const HELD_HEARTBEAT_S = 900;
let openGate: () => void = () => undefined;
const gate = new Promise<void>((r) => { openGate = r; });

const schemasDir = path.join(__dirname, '../fixtures/schemas');
const same = (r: unknown) => r;
const scalePipeline: PipelineDefinition = {
  name: 'scale4',
  schemasDir,
  retry: { maximumAttempts: 1 },
  stages: [
    {
      name: 'a', schema: 'item', version: '1', after: ['raw'],
      transform: async (r, ctx) => {
        if (ctx.partitionName === name(N - 1) && ctx.recordIndex === 0) await gate;
        return r;
      },
    },
    { name: 'b', schema: 'item', version: '1', after: ['a'], transform: (r, ctx) => { if (!healed && failB.has(ctx.partitionName)) throw new PartitionError(`b is down for ${ctx.partitionName}`); return r; } },
    { name: 'c', schema: 'item', version: '1', after: ['a'], transform: (r, ctx) => { if (!healed && failC.has(ctx.partitionName)) throw new PartitionError(`c is down for ${ctx.partitionName}`); return r; } },
    { name: 'd', schema: 'item', version: '1', after: ['b', 'c'], transform: same },
  ],
};

let h: TestHarness;
let s3: S3Client;
interface Progress { phase: string; stages: Record<string, { done: number; failed: number; blocked: number; running: number; pending: number }> }


type Event = temporal.api.history.v1.IHistoryEvent;
async function history(wid: string, runId?: string): Promise<Event[]> {
  return (await h.client.workflow.getHandle(wid, runId).fetchHistory()).events ?? [];
}

beforeAll(async () => {
  h = await startHarness('scale', [scalePipeline, holdPipeline], { bucket: BUCKET, concurrency: 16 });
  s3 = s3Client(h.cfg.s3);
  await putItemObjects(s3, BUCKET, N, name);
}, 60_000);

afterAll(async () => {
  openGate();
  released = true;
  await h?.stop();
});

describe('a large ingest: windows, continue-as-new, retries', () => {
  const wid = `scale-${process.pid}`;
  let handle: WorkflowHandleWithFirstExecutionRunId;
  let summary: IngestSummary;

  it('runs, honours a retry that arrives while windows run, and limits it to the stages asked for', async () => {
    handle = await h.client.workflow.start('ingest', {
      taskQueue: h.cfg.taskQueue, workflowId: wid,
      args: [{ pipeline: 'scale4', source: `s3://${BUCKET}/src/`, target: `s3://${BUCKET}/out/`, dataset: 'ds', pack: false, maxParallel: 6, partitionsPerWorkflow: 10, waitForRetry: '10m', heartbeatTimeoutSeconds: HELD_HEARTBEAT_S }, { continueAsNewEvents: CAN_EVENTS, summaryIdsMax: 50 }],
    });
    // Bounds for a loaded 2-core machine (CI alone runs this in about a minute).
    const p = await until('the four failures', 300_000, async () => {
      const q = await handle.query<Progress>('progress');
      // ...and c of every partition outside the gated window reported: c of 3 is committed, so the
      // retry takes d of 3 too (the windows of 10 small partitions run each stage in one batch).
      return q.stages.b.failed === 2 && q.stages.c.failed === 2 && q.stages.c.done === N - 10 - 2 ? q : undefined;
    });
    // The gated partition keeps its window running.
    expect(p.phase).toBe('running');
    expect(p.stages.a.done).toBeLessThan(N);
    healed = true;
    const res = await handle.executeUpdate<{ requeued: { stage: string; partition: string }[] }, [object]>('retryFailed', { args: [{ stages: ['b'] }] });
    const requeued = res.requeued.map((r) => r.stage).sort();
    // b of 3 and 45, and d of 3 (its other input, c, is committed); d of 45 still waits for c.
    expect(requeued).toEqual(['b', 'b', 'd']);
    openGate();
    const waiting = await until('waiting-for-retry', 300_000, async () => {
      const q = await handle.query<Progress>('progress');
      return q.phase === 'waiting-for-retry' ? q : undefined;
    });
    expect(waiting.stages.b).toMatchObject({ done: N, failed: 0 });
    expect(waiting.stages.c).toMatchObject({ done: N - 2, failed: 2 });
    expect(waiting.stages.d).toMatchObject({ done: N - 2, blocked: 2 });
  }, 660_000);

  it('answers progress and partitions for the whole run after continue-as-new', async () => {
    const desc = await h.client.workflow.getHandle(wid).describe();
    expect(desc.runId).not.toBe(handle.firstExecutionRunId);
    const all: PartitionState[] = [];
    for (let offset = 0; ; offset += 100) {
      const page = await h.client.workflow.getHandle(wid).query<{ total: number; partitions: PartitionState[] }, [object]>('partitions', { offset, limit: 100 });
      expect(page.total).toBe(N * 4);
      all.push(...page.partitions);
      if (page.partitions.length < 100) break;
    }
    expect(all).toHaveLength(N * 4);
    expect(new Set(all.map((e) => `${e.stage}/${e.index}`)).size).toBe(N * 4);
    const failed = await h.client.workflow.getHandle(wid).query<{ total: number; partitions: PartitionState[] }, [object]>('partitions', { status: 'failed' });
    expect(failed.partitions.map((e) => [e.stage, e.name, e.error])).toEqual([
      ['c', name(17), expect.stringContaining(`c is down for ${name(17)}`)],
      ['c', name(45), expect.stringContaining(`c is down for ${name(45)}`)],
    ]);
    // The workflow holds ids of the first 50 only (summaryIdsMax); the CLI names the rest from the plan.
    expect(all.filter((e) => e.partition.startsWith('#')).length).toBeGreaterThan(0);
    const cli = await runCli(h.cfg, 'partitions', wid, '--stage', 'a', '--json');
    // Too large to keep per-partition details in Temporal: the CLI says where they are.
    expect(cli.stderr).toBe(`note: ${wid} is too large for Temporal to keep records and outputs per partition; once it ends, --dataset <url> reads them from its run manifest\n`);
    const rows = JSON.parse(cli.stdout) as { partition: string; name: string }[];
    expect(rows.map((r) => r.name)).toEqual(Array.from({ length: N }, (_, i) => name(i)));
    expect(rows.every((r) => /^p-[0-9a-f]{12}$/.test(r.partition))).toBe(true);
    // status says when the ingest started, not when its current run did.
    const firstStart = (await h.client.workflow.getHandle(wid, handle.firstExecutionRunId).describe()).startTime.toISOString();
    expect(desc.startTime.toISOString()).not.toBe(firstStart);
    const status = await runCli(h.cfg, 'status', wid);
    expect(status.stdout.split('\n')[0]).toContain(`started ${firstStart}`);
    // Its windows report only ends: status does not call what they hold "running".
    expect(status.stdout).toMatch(/^  a +\d+\/\d+ done, \d+ running or queued in windows, /m);
  }, 90_000);

  it('completes after a second retry, every partition and stage computed exactly once', async () => {
    await h.client.workflow.getHandle(wid).executeUpdate('retryFailed', { args: [{}] });
    summary = await h.client.workflow.getHandle(wid).result();
    expect(summary.status).toBe('completed');
    for (const st of ['a', 'b', 'c', 'd']) expect(summary.stages[st]).toMatchObject({ succeeded: N, failed: 0, blocked: 0 });
    const run = await getJson<RunManifest>(s3, summary.manifest);
    for (const st of ['a', 'b', 'c', 'd']) {
      expect(run.committed[st].map((c) => c.name)).toEqual(Array.from({ length: N }, (_, i) => name(i)));
      expect(run.committed[st].every((c) => c.result === 'computed')).toBe(true);
      const manifests = (await listObjects(s3, BUCKET, `out/ds/${st}/`)).filter((o) => o.key.endsWith('.json'));
      expect(manifests).toHaveLength(N);
    }
    expect(run.failures).toEqual([]);
    // The ingest started when its first run did, however many runs it continued as new into:
    // snapshots order runs by it (a later one must not pass for the one that read the source last).
    const first = await h.client.workflow.getHandle(wid, handle.firstExecutionRunId).describe();
    expect(summary.startedAt).toBe(first.startTime.toISOString());
    expect(run.startedAt).toBe(summary.startedAt);
  }, 400_000);

  it('keeps every history bounded, overlaps windows, and schedules each stage of a partition once per run of it', async () => {
    const runs: Event[][] = [];
    for (let runId: string | undefined = handle.firstExecutionRunId; runId;) {
      const ev = await history(wid, runId);
      runs.push(ev);
      runId = ev[ev.length - 1].workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
    }
    // How many runs depends on how the windows' reports batch into workflow tasks (a fast host
    // batches more): at least one continue-as-new, and each one only once past the threshold.
    expect(runs.length).toBeGreaterThanOrEqual(2);
    for (const ev of runs.slice(0, -1)) {
      expect(ev[ev.length - 1].workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
      expect(ev.length).toBeGreaterThanOrEqual(CAN_EVENTS);
    }
    const children: { events: Event[]; start: number; end: number }[] = [];
    for (let k = 1; ; k++) {
      const ev = await history(`${wid}/w-${String(k).padStart(6, '0')}`).catch(() => null);
      if (!ev) break;
      children.push({ events: ev, start: Number(ev[0].eventTime!.seconds) * 1e3 + ev[0].eventTime!.nanos! / 1e6, end: Number(ev[ev.length - 1].eventTime!.seconds) * 1e3 + ev[ev.length - 1].eventTime!.nanos! / 1e6 });
    }
    expect(children.length).toBeGreaterThanOrEqual(N / 10);
    // A burst of reports can land in one workflow task past the threshold: a margin, far below 10k.
    for (const ev of runs) expect(ev.length).toBeLessThan(CAN_EVENTS + 150);
    for (const c of children) expect(c.events.length).toBeLessThan(10 * 4 * 12);
    // The event as the server stores it: its protobuf encoding bounds every payload in it.
    const bytes = (e: Event) => temporal.api.history.v1.HistoryEvent.encode(e).finish().length;
    for (const ev of [...runs, ...children.map((c) => c.events)]) for (const e of ev) expect(bytes(e)).toBeLessThan(512 * 1024);
    // Some window started before an earlier one closed: no barrier between windows.
    expect(children.some((c, k) => k > 0 && c.start < children[k - 1].end)).toBe(true);
    // Per stage and partition index, from the activities' inputs: a batch activity runs several.
    const scheduled = new Map<string, number>();
    let batches = 0;
    for (const c of children) for (const e of c.events) {
      const a = e.activityTaskScheduledEventAttributes;
      const type = a?.activityType?.name;
      if (!a || (type !== 'runStage' && type !== 'runBatch')) continue;
      const arg = JSON.parse(Buffer.from(a.input!.payloads![0].data!).toString('utf8')) as { stage: string; index?: number; items?: { index: number; resolve?: true }[] };
      if (type === 'runBatch') batches++;
      const ran = type === 'runBatch' ? arg.items!.filter((x) => !x.resolve).map((x) => x.index) : a.activityId!.endsWith(':resolve') ? [] : [arg.index!];
      for (const i of ran) scheduled.set(`${arg.stage}:${i}`, (scheduled.get(`${arg.stage}:${i}`) ?? 0) + 1);
    }
    // The partitions are small: they went in batches, several per activity.
    expect(batches).toBeGreaterThan(0);
    expect(batches).toBeLessThan(N);
    const plan = await getJson<{ partitions: { name: string }[] }>(s3, summary.plan);
    const twice = [...scheduled].filter(([, n]) => n > 1).map(([k]) => `${k.split(':')[0]}:${plan.partitions[Number(k.split(':')[1])].name}`).sort();
    // Failed once and retried: b of 3 and 45, c of 17 and 45; d of 3, 17 and 45 ran once, after the retries.
    expect(twice).toEqual([`b:${name(3)}`, `b:${name(45)}`, `c:${name(17)}`, `c:${name(45)}`]);
    expect([...scheduled.values()].every((n) => n <= 2)).toBe(true);
    expect(scheduled.size).toBe(N * 4);
  });
});

describe('cancelling a large ingest after continue-as-new', () => {
  it('cancels the running windows and still writes the run manifest', async () => {
    const wid = `scale-cancel-${process.pid}`;
    const handle = await h.client.workflow.start('ingest', {
      taskQueue: h.cfg.taskQueue, workflowId: wid,
      args: [{ pipeline: 'hold', source: `s3://${BUCKET}/src/`, target: `s3://${BUCKET}/out/`, dataset: 'cx', pack: false, maxParallel: 4, partitionsPerWorkflow: 10, heartbeatTimeoutSeconds: HELD_HEARTBEAT_S }, { continueAsNewEvents: 40, summaryIdsMax: 50 }],
    });
    await until('30 partitions done after a continue-as-new', 240_000, async () => {
      const d = await h.client.workflow.getHandle(wid).describe();
      const q = await h.client.workflow.getHandle(wid).query<Progress>('progress');
      return d.runId !== handle.firstExecutionRunId && q.stages.s.done === 30 && q.stages.s.running > 0 ? true : undefined;
    });
    // The old path's hardening holds after continue-as-new, in a run too large to know every id.
    const running = h.client.workflow.getHandle(wid);
    const refused = (req: unknown) => running.executeUpdate('retryFailed', { args: [req as never] }).catch((e: Error & { cause?: Error }) => e.cause?.message ?? e.message);
    expect(await refused({ stages: ['zz'] })).toBe('unknown stage "zz" (stages: s)');
    expect(await refused({ partitions: ['nope.avro'] })).toMatch(/^unknown partition "nope.avro": .*too large to know every id/);
    expect(await refused(['x'])).toMatch(/^expected \{"partitions"/);
    await running.signal('retryFailed', { stages: 'zz' } as never);
    expect((await running.describe()).searchAttributes).toMatchObject({ PartflowStatus: ['running'], PartflowFailedPartitions: [0], PartflowPipeline: ['hold'] });
    const meta = await until('the ignored signal noted', 10_000, async () => {
      const m = await running.query<{ currentDetails: string }>('__temporal_workflow_metadata');
      return /a retryFailed signal was ignored: "stages" must be a list of strings/.test(m.currentDetails) ? m : undefined;
    });
    expect(meta.currentDetails).toMatch(/^ingest \*\*hold\*\* from s3:\/\/it-scale\/src\/ into s3:\/\/it-scale\/out\/cx\//);
    // The UI's details, like status, do not call what a run's windows hold "running".
    expect(meta.currentDetails).toMatch(/\d+ running or queued in windows, \d+ failed/);
    // A windowReport sent by hand (the UI and the CLI offer it) is ignored, not thrown on: a
    // handler that threw failed every workflow task from then on, so no query or cancel worked.
    await running.signal('windowReport', {} as never);
    await until('the ignored windowReport noted', 10_000, async () => {
      const m = await running.query<{ currentDetails: string }>('__temporal_workflow_metadata');
      return /a windowReport signal was ignored: a window report needs whole numbers "seq" and "freed"/.test(m.currentDetails) ? m : undefined;
    });
    expect((await running.query<Progress>('progress')).stages.s.done).toBeGreaterThanOrEqual(30);
    // A valid retryFailed signal that matches no failed partition says so (an update would answer requeued: []).
    await running.signal('retryFailed', { stages: ['s'] });
    await until('the empty retry noted', 10_000, async () => {
      const m = await running.query<{ currentDetails: string }>('__temporal_workflow_metadata');
      return m.currentDetails.includes('a retryFailed signal re-queued nothing: no failed or blocked partition matches {"stages":["s"]}') ? m : undefined;
    });
    await h.client.workflow.getHandle(wid).cancel();
    const err = await h.client.workflow.getHandle(wid).result().catch((e: Error & { cause?: Error }) => e);
    expect((err as Error & { cause?: Error }).cause?.name).toBe('CancelledFailure');
    const run = await getJson<RunManifest>(s3, `s3://${BUCKET}/out/cx/_runs/${wid}/${handle.firstExecutionRunId}.json`);
    // What the cancel left unfinished is counted cancelled, not blocked (which means: by a failure upstream).
    expect(run.status).toBe('cancelled');
    expect(run.committed.s.map((c) => c.name)).toEqual(Array.from({ length: 30 }, (_, i) => name(i)));
    expect(run.stages.s).toMatchObject({ succeeded: 30, failed: 0, blocked: 0, cancelled: N - 30 });
    expect(run.cancelled?.map((c) => `${c.stage} ${c.name}`)).toEqual(Array.from({ length: N - 30 }, (_, i) => `s ${name(30 + i)}`));
    // partitions reads the cancelled ones from the run manifest too, by itself once the run is closed.
    const listed = async (...args: string[]) => (JSON.parse((await runCli(h.cfg, 'partitions', wid, '--json', ...args)).stdout) as { name: string; status: string }[]);
    expect((await listed('--dataset', `s3://${BUCKET}/out/cx/`, '--status', 'cancelled')).map((r) => r.name)).toEqual(Array.from({ length: N - 30 }, (_, i) => name(30 + i)));
    const all = await listed();
    expect(all.filter((r) => r.status === 'cancelled')).toHaveLength(N - 30);
    expect(all.filter((r) => r.status === 'done')).toHaveLength(30);
    expect((await h.client.workflow.getHandle(wid).describe()).searchAttributes).toMatchObject({ PartflowStatus: ['cancelled'] });
    // Every window is closed: none runs on after its ingest.
    for (let k = 1; ; k++) {
      const d = await h.client.workflow.getHandle(`${wid}/w-${String(k).padStart(6, '0')}`).describe().catch(() => null);
      if (!d) break;
      expect(d.status.name).not.toBe('RUNNING');
    }
  }, 360_000);
});

describe('a window of an earlier run that is terminated', () => {
  it('gives its partitions back, so the ingest runs them again and completes', async () => {
    const wid = `scale-term-${process.pid}`;
    const win = (k: number) => h.client.workflow.getHandle(`${wid}/w-${String(k).padStart(6, '0')}`);
    const windows = async () => {
      const out = [];
      for (let k = 1; ; k++) {
        const d = await win(k).describe().catch(() => null);
        if (!d) return out;
        out.push(d);
      }
    };
    const handle = await h.client.workflow.start('ingest', {
      taskQueue: h.cfg.taskQueue, workflowId: wid,
      args: [{ pipeline: 'hold', source: `s3://${BUCKET}/src/`, target: `s3://${BUCKET}/out/`, dataset: 'term', pack: false, maxParallel: 4, partitionsPerWorkflow: 10, heartbeatTimeoutSeconds: HELD_HEARTBEAT_S }, { continueAsNewEvents: 30, summaryIdsMax: 50, windowCheckSeconds: 1 }],
    });
    await until('30 partitions done and the rest held', 90_000, async () => {
      const q = await h.client.workflow.getHandle(wid).query<Progress>('progress');
      return q.stages.s.done === 30 && q.stages.s.running > 0 ? true : undefined;
    });
    // A held window that the parent's current run did not start: only by looking can that run learn it ended.
    const victim = await until('a held window started before a continue-as-new', 60_000, async () => {
      const parentRun = (await h.client.workflow.getHandle(wid).describe()).runId;
      // Windows of 10 in order: 1-3 run partitions 0-29 and end; 4 on hold theirs.
      const held = (await windows()).slice(3).find((d) => d.status.name === 'RUNNING' && d.parentExecution?.runId !== parentRun);
      if (held) return held.workflowId;
      // Each update adds events; past 30 the parent continues as new, and its windows become an earlier run's.
      await h.client.workflow.getHandle(wid).executeUpdate('retryFailed', { args: [{}] });
      return undefined;
    });
    const before = (await windows()).length;
    await h.client.workflow.getHandle(victim).terminate('test: a window that never sends its last report');
    // Every slot was held: a new window starts only once the terminated one's slots and partitions are given back.
    await until('a new window for the given-back partitions', 60_000, async () => ((await windows()).length > before ? true : undefined));
    released = true;
    const summary = await until('the ingest to complete', 90_000, () => h.client.workflow.getHandle(wid).result() as Promise<IngestSummary>);
    expect(summary.status).toBe('completed');
    expect(summary.stages.s).toMatchObject({ failed: 0, blocked: 0 });
    // succeeded counts reused partitions too.
    expect(summary.stages.s.succeeded).toBe(N);
    const run = await getJson<RunManifest>(s3, `s3://${BUCKET}/out/term/_runs/${wid}/${handle.firstExecutionRunId}.json`);
    expect(run.committed.s.map((c) => c.name).sort()).toEqual(Array.from({ length: N }, (_, i) => name(i)));
  }, 240_000);
});

describe('a window that ends after reporting partitions done but before saving them', () => {
  it('has them run again, so the run manifest lists every partition and counts each once', async () => {
    const wid = `scale-lost-${process.pid}`;
    released = false;
    holdFrom = 59;
    const win = (k: number) => h.client.workflow.getHandle(`${wid}/w-${String(k).padStart(6, '0')}`);
    const handle = await h.client.workflow.start('ingest', {
      taskQueue: h.cfg.taskQueue, workflowId: wid,
      args: [{ pipeline: 'hold', source: `s3://${BUCKET}/src/`, target: `s3://${BUCKET}/out/`, dataset: 'lost', pack: false, maxParallel: 4, partitionsPerWorkflow: 60, partitionsPerActivity: 1, heartbeatTimeoutSeconds: HELD_HEARTBEAT_S }, { summaryIdsMax: 50 }],
    });
    // Window 1 (partitions 0-59) reported 0-49 done after 50 entries, and 50-58 as it ran out of
    // partitions to start and freed its slots; 59 holds it open, so it has saved none of them.
    await until('59 partitions done and the rest held', 90_000, async () => {
      const q = await h.client.workflow.getHandle(wid).query<Progress>('progress');
      return q.stages.s.done === 59 && q.stages.s.running > 0 ? true : undefined;
    });
    expect((await win(1).describe()).status.name).toBe('RUNNING');
    await win(1).terminate('test: a window that reported partitions done and never saved them');
    await until('a new window for partitions 0-59', 60_000, async () => ((await win(3).describe().catch(() => null)) ? true : undefined));
    released = true;
    const summary = await until('the ingest to complete', 120_000, () => h.client.workflow.getHandle(wid).result() as Promise<IngestSummary>);
    expect(summary.status).toBe('completed');
    expect(summary.stages.s).toMatchObject({ succeeded: N, failed: 0, blocked: 0 });
    // One record per partition: those run twice are counted once.
    expect(summary.stages.s.records).toEqual({ in: N, out: N, rejected: 0, dropped: 0 });
    const run = await getJson<RunManifest>(s3, `s3://${BUCKET}/out/lost/_runs/${wid}/${handle.firstExecutionRunId}.json`);
    expect(run.committed.s.map((c) => c.name)).toEqual(Array.from({ length: N }, (_, i) => name(i)));
    expect(run.committed.s.reduce((n, c) => n + c.counts.in, 0)).toBe(N);
  }, 300_000);
});
