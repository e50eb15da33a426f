import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ScheduleDescription, WorkflowHandle } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { IngestSummary, RunManifest } from '../../src/manifest/run';
import { createSchedule, overlapPolicy, scheduleSpec } from '../../src/schedules';
import { builtinPipelines } from '../../src/pipelines';
import { INHERIT_SCHEMA, PipelineDefinition } from '../../src/pipeline/types';
import { s3Client } from '../../src/storage/client';
import { runCli } from '../helpers/cli';
import { getJson } from '../helpers/s3';
import { startHarness, TestHarness } from '../helpers/stack';
import { until } from '../helpers/until';

/**
 * `partflow schedule` on the real dev server: a schedule's firings are ordinary incremental
 * ingests that name their schedule; overlap policies; a schedule pointing at an unknown
 * pipeline. The worker runs in this process, so the `gated` pipeline can hold a run open until
 * the test lets it go: no timing decides an outcome. Needs `npm run build` (the CLI runs dist/).
 */
const BUCKET = 'it-sched';
let h: TestHarness;
let s3: S3Client;

/** `gated` holds its stage's first record until release() is called. */
let gate = deferred();
function deferred() {
  let release!: () => void;
  const promise = new Promise<void>((r) => (release = r));
  return { promise, release };
}
const gatedPipeline: PipelineDefinition = {
  name: 'gated',
  stages: [{
    name: 'copy', schema: INHERIT_SCHEMA, version: '1',
    transform: async (r, ctx) => {
      if (ctx.recordIndex === 0) await gate.promise;
      return r;
    },
  }],
};

const cli = (...args: string[]) => runCli(h.cfg, ...args);

const describe_ = (id: string) => h.client.schedule.getHandle(id).describe();

/** The schedule's recent runs once n of them have closed (bounded). */
function closedRuns(id: string, n: number, ms = 90_000): Promise<{ d: ScheduleDescription; handles: WorkflowHandle[] }> {
  return until(`${n} closed runs of ${id}`, ms, async () => {
    const d = await describe_(id);
    const handles = d.info.recentActions.map((a) => h.client.workflow.getHandle(a.action.workflow.workflowId, a.action.workflow.firstExecutionRunId));
    const closed = await Promise.all(handles.map(async (x) => (await x.describe()).status.name !== 'RUNNING'));
    return closed.filter(Boolean).length >= n ? { d, handles } : undefined;
  });
}

const csv = (tag: string) => `id,label\n${Array.from({ length: 60 }, (_, i) => `${i},${tag}-record-number-${i}`).join('\n')}\n`;
const put = (key: string, body: string) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));

/** Per stage, the names of the partitions a run computed (not reused). */
const computed = (run: RunManifest) => Object.fromEntries(Object.entries(run.committed).map(([s, l]) => [s, l.filter((c) => c.result === 'computed').map((c) => c.name).sort()]));

beforeAll(async () => {
  h = await startHarness('sched', [...builtinPipelines, gatedPipeline], { bucket: BUCKET });
  s3 = s3Client(h.cfg.s3);
  // Each object is over --partition-bytes 1KiB, so each is a partition of its own.
  for (const n of ['a', 'b', 'c']) await put(`src/${n}.csv`, csv(n));
  await put('gated/x.csv', csv('x'));
});

afterAll(async () => {
  // Stop every firing and let a held run go before the worker shuts down (it waits for its activities).
  for (const id of ['sched-every', 'sched-skip', 'sched-buffer-one', 'sched-unknown', 'sched-update', 'sched-backfill', 'sched-never']) await h?.client.schedule.getHandle(id).delete().catch(() => undefined);
  gate.release();
  await h?.stop();
});

describe('partflow schedule', () => {
  it('fires on its interval; runs are incremental, name their schedule, and work with partitions, history and retry', async () => {
    const id = 'sched-every';
    const made = await cli('schedule', 'create', id, '--pipeline', 'copy', '--source', `s3://${BUCKET}/src/`, '--target', `s3://${BUCKET}/out/`,
      '--partition-bytes', '1KiB', '--every', '4s', '--note', 'integration test');
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(/created schedule sched-every\n[\s\S]*when {7}every 4s\n[\s\S]*overlap skip/);

    const { d, handles } = await closedRuns(id, 2);
    await h.client.schedule.getHandle(id).pause('checking its runs');
    const [first, second] = await Promise.all(handles.slice(0, 2).map((x) => x.result() as Promise<IngestSummary>));
    // Temporal names each run <schedule id>-<firing time>.
    expect(d.info.recentActions[0].action.workflow.workflowId).toMatch(/^sched-every-\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(computed(await getJson<RunManifest>(s3, first.manifest))).toEqual({ raw: ['a.csv', 'b.csv', 'c.csv'], copy: ['a.csv', 'b.csv', 'c.csv'] });
    // The second firing found every partition committed: it processed nothing.
    expect(computed(await getJson<RunManifest>(s3, second.manifest))).toEqual({ raw: [], copy: [] });
    expect(second.stages.copy).toMatchObject({ succeeded: 3, skipped: 3 });

    // Runs name their schedule: search attribute, current details, progress and result.
    const desc = await handles[1].describe();
    expect(desc.typedSearchAttributes.get(defineSearchAttributeKey('TemporalScheduledById', SearchAttributeType.KEYWORD))).toBe(id);
    const meta = await handles[1].query<{ currentDetails: string }>('__temporal_workflow_metadata');
    expect(meta.currentDetails).toMatch(/^ingest \*\*copy\*\* from s3:\/\/it-sched\/src\/ .* — started by schedule \*\*sched-every\*\*/);
    expect((await handles[1].query<{ schedule?: string }>('progress')).schedule).toBe(id);
    expect(second.schedule).toBe(id);

    // describe lists the runs with their results.
    const shown = await cli('schedule', 'describe', id, '--json');
    expect(shown.code).toBe(0);
    const j = JSON.parse(shown.stdout);
    expect(j).toMatchObject({ scheduleId: id, paused: true, note: 'checking its runs', spec: 'every 4s', policies: { overlap: 'skip' }, input: { pipeline: 'copy', partitionBytes: 1024 } });
    expect(j.recentRuns.slice(0, 2)).toEqual([
      expect.objectContaining({ status: 'completed', result: 'completed', computed: 6, reused: 0, recordsOut: 180 }),
      expect.objectContaining({ status: 'completed', result: 'completed', computed: 0, reused: 6, recordsOut: 180 }),
    ]);

    // One source object changes: the next run recomputes only that partition's chain.
    await until('no running action', 60_000, async () => ((await describe_(id)).info.runningActions.length === 0 ? true : undefined));
    const before = (await describe_(id)).info.recentActions.length;
    await put('src/b.csv', csv('b2'));
    await h.client.schedule.getHandle(id).trigger('SKIP');
    const third = await until('the triggered run', 90_000, async () => {
      const r = await closedRuns(id, before + 1, 1);
      return r.handles[before];
    });
    const s3rd = await third.result() as IngestSummary;
    expect(computed(await getJson<RunManifest>(s3, s3rd.manifest))).toEqual({ raw: ['b.csv'], copy: ['b.csv'] });

    // The other commands take scheduled runs' ids as they take any.
    const wf = third.workflowId;
    const [parts, hist, retried] = await Promise.all([
      cli('partitions', wf, '--json'), cli('history', `s3://${BUCKET}/out/src/`, '--partition', 'b.csv', '--json'), cli('retry', wf, '--wait'),
    ]);
    expect(parts.code).toBe(0);
    expect(JSON.parse(parts.stdout).filter((p: { status: string }) => p.status === 'done').map((p: { name: string }) => p.name).sort()).toEqual(['b.csv', 'b.csv']);
    expect(hist.code).toBe(0);
    expect(JSON.parse(hist.stdout).map((e: { workflowId: string }) => e.workflowId)).toContain(wf);
    // A run with nothing failed has nothing to retry: a new run would only read the source again.
    expect(retried.code).toBe(1);
    expect(retried.stderr).toMatch(new RegExp(`${wf} completed with every partition committed: nothing to retry\\. To read its source again with the same input \\(target, dataset, params, partitioning\\), add --rerun`));
    // With --rerun it starts one on the run's own input: nothing changed, so everything is reused.
    const rerun = await cli('retry', wf, '--rerun', '--wait');
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toMatch(new RegExp(`started ${wf}-retry-\\w+, a new run of its input`));
    expect(rerun.stdout).toMatch(/Ingest completed: 3 partitions of src \(pipeline copy\)/);
    expect(rerun.stdout).toMatch(/copy\s+3 ok\s+0 failed\s+3 reused \| records in 180, out 180, rejected 0, dropped 0, all in reused outputs/);
  });

  it('with overlap skip, a firing while a run is going is skipped; with buffer-one it runs after', async () => {
    for (const policy of ['skip', 'buffer-one'] as const) {
      gate = deferred();
      const id = `sched-${policy}`;
      await createSchedule(h.client, h.cfg, {
        id, input: { pipeline: 'gated', source: `s3://${BUCKET}/gated/`, target: `s3://${BUCKET}/out-${policy}/` },
        spec: scheduleSpec({ cron: '0 2 * * *' }), policies: { overlap: overlapPolicy(policy) },
      });
      // `partflow schedule trigger` says what the firing did: here, the run it started.
      const first = await cli('schedule', 'trigger', id);
      expect(first).toMatchObject({ code: 0, stdout: expect.stringMatching(new RegExp(`^triggered ${id}: started (${id}-\\S+Z) \\(partflow status \\1\\)\n$`)) });
      const running = await until('the first run held at the gate', 60_000, async () => {
        const d = await describe_(id);
        if (d.info.runningActions.length !== 1) return undefined;
        const handle = h.client.workflow.getHandle(d.info.runningActions[0].workflow.workflowId);
        const p = await handle.query<{ stages: Record<string, { running: number }> }>('progress');
        return p.stages.copy?.running === 1 ? handle : undefined;
      });
      // A second firing: `partflow schedule trigger` applies the schedule's own policy, and says
      // what came of it: a skipped firing started nothing, so the command fails and says why.
      const second = await cli('schedule', 'trigger', id);
      if (policy === 'skip') {
        expect(second).toMatchObject({ code: 1, stdout: '' });
        expect(second.stderr).toBe(`partflow: schedule "${id}": the firing was skipped for overlap (policy skip): ${running.workflowId} is still going, so no run was started. `
          + `To run anyway: partflow schedule trigger ${id} --overlap allow-all (both run at once, on the same dataset), or wait for it to end (partflow status ${running.workflowId}) and trigger again\n`);
      } else expect(second).toMatchObject({ code: 0, stdout: `triggered ${id}: the firing waits for ${running.workflowId} to end, then starts (overlap buffer-one); \`partflow schedule describe ${id}\` shows it\n` });
      if (policy === 'skip') {
        await until('the skipped firing', 30_000, async () => ((await describe_(id)).info.numActionsSkippedOverlap === 1 ? true : undefined));
      } else {
        await until('the buffered firing', 30_000, async () => (Number((await describe_(id)).raw.info?.bufferSize ?? 0) === 1 ? true : undefined));
        expect((await cli('schedule', 'describe', id)).stdout).toMatch(/1 run\(s\); 0 skipped for overlap, 1 buffered/);
      }
      expect((await describe_(id)).info.recentActions).toHaveLength(1);
      gate.release();
      await running.result();
      if (policy === 'skip') {
        const d = await describe_(id);
        expect(d.info.recentActions).toHaveLength(1);
        expect(d.info.numActionsSkippedOverlap).toBe(1);
      } else {
        const { d, handles } = await closedRuns(id, 2);
        expect(d.info.numActionsSkippedOverlap).toBe(0);
        const [a, b] = await Promise.all(handles.map((x) => x.describe()));
        // The buffered run started only once the first had closed.
        expect(b.startTime.getTime()).toBeGreaterThanOrEqual(a.closeTime!.getTime());
        expect((await handles[1].result() as IngestSummary).status).toBe('completed');
      }
    }
  });

  it('with --overlap terminate-other, trigger names the run it terminated as well as the one it started', async () => {
    gate = deferred();
    const id = 'sched-terminate';
    await createSchedule(h.client, h.cfg, {
      id, input: { pipeline: 'gated', source: `s3://${BUCKET}/gated/`, target: `s3://${BUCKET}/out-terminate/` },
      spec: scheduleSpec({ cron: '0 2 * * *' }), policies: { overlap: overlapPolicy('skip') },
    });
    expect((await cli('schedule', 'trigger', id)).code).toBe(0);
    const running = await until('the first run held at the gate', 60_000, async () => {
      const d = await describe_(id);
      if (d.info.runningActions.length !== 1) return undefined;
      const { workflowId, firstExecutionRunId } = d.info.runningActions[0].workflow;
      const handle = h.client.workflow.getHandle(workflowId, firstExecutionRunId);
      const p = await handle.query<{ stages: Record<string, { running: number }> }>('progress');
      return p.stages.copy?.running === 1 ? handle : undefined;
    });
    // It said "the firing waits for … to end, then starts": the run it named was gone a moment later.
    const second = await cli('schedule', 'trigger', id, '--overlap', 'terminate-other');
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(new RegExp(`^triggered ${id}: terminated ${running.workflowId} \\(overlap terminate-other: no run manifest or snapshot from it; the partitions it committed are reused\\) and started (${id}-\\S+Z) \\(partflow status \\1\\)\n$`));
    expect((await running.describe()).status.name).toBe('TERMINATED');
    gate.release();
    const { handles } = await closedRuns(id, 2);
    expect((await handles[1].result() as IngestSummary).status).toBe('completed');
  });

  it('a schedule whose pipeline no worker knows fails its runs visibly, and pauses with --pause-on-failure', async () => {
    const id = 'sched-unknown';
    const made = await cli('schedule', 'create', id, '--pipeline', 'nosuch', '--source', `s3://${BUCKET}/src/`, '--cron', '@daily', '--pause-on-failure');
    expect(made.code).toBe(0);
    await h.client.schedule.getHandle(id).trigger('SKIP');
    const { handles } = await closedRuns(id, 1, 60_000);
    expect((await handles[0].describe()).status.name).toBe('FAILED');
    const d = await until('the schedule to pause', 30_000, async () => ((await describe_(id)).state.paused ? describe_(id) : undefined));
    expect(d.state.note).toBeTruthy();
    const shown = await cli('schedule', 'describe', id);
    expect(shown.stdout).toMatch(/PAUSED/);
    expect(shown.stdout).toMatch(/failed +unknown pipeline "nosuch" \(registered on this worker: [^)]*copy/);
  });

  it('says clearly what is wrong with a schedule', async () => {
    const make = (over: { cron?: string; source?: string; id?: string }) => createSchedule(h.client, h.cfg, {
      id: over.id ?? 'sched-bad', input: { pipeline: 'copy', source: over.source ?? `s3://${BUCKET}/src/` }, spec: scheduleSpec({ cron: over.cron ?? '0 2 * * *' }),
    });
    await expect(make({ cron: '61 * * * *' })).rejects.toThrow(/^schedule "sched-bad": Temporal refused it: .*[Mm]inute.*0-59/);
    await expect(make({ source: 's3://x/src/' })).rejects.toThrow(/^schedule "sched-bad": invalid ingest input: source: invalid S3 URL "s3:\/\/x\/src\/"/);
    await expect(make({ id: 'sched-every' })).rejects.toThrow('schedule "sched-every" already exists in namespace default');
    // Temporal takes a calendar that matches no day; the schedule would never fire, so it is not kept.
    await expect(make({ cron: '0 0 31 2 *', id: 'sched-never' })).rejects.toThrow(
      'schedule "sched-never": cron 0 0 31 2 * (UTC) never fires (Temporal finds no time that matches it, up to the year 2100), so it was not created; check the day of the month against the months, and the day of the week');
    await expect(describe_('sched-never')).rejects.toThrow(/not found/);
    // The CLI says the same on stderr and exits 1.
    const [overlap, missing, trigger] = await Promise.all([
      cli('schedule', 'create', 'sched-bad', '--pipeline', 'copy', '--source', `s3://${BUCKET}/src/`, '--every', '1h', '--overlap', 'queue'),
      cli('schedule', 'describe', 'nope'),
      cli('schedule', 'trigger', 'nope'),
    ]);
    expect(overlap).toMatchObject({ code: 1, stderr: expect.stringMatching(/unknown overlap policy "queue": use one of skip, buffer-one/) });
    for (const r of [missing, trigger]) expect(r).toMatchObject({ code: 1, stderr: expect.stringMatching(/schedule "nope" not found in namespace default/) });
  });

  it('update changes what is given and keeps the rest; backfill, pause, unpause, list and delete', async () => {
    const id = 'sched-update';
    await createSchedule(h.client, h.cfg, { id, input: { pipeline: 'copy', source: `s3://${BUCKET}/src/`, partitionBytes: 1024 }, spec: scheduleSpec({ cron: '0 2 * * *', timezone: 'Europe/Paris' }) });
    // --target: the first test's outputs, which the backfilled runs below reuse, so they are quick.
    const [up, nothing, backwards, noDay, future] = await Promise.all([
      cli('schedule', 'update', id, '--cron', '30 3 * * 1-5', '--target', `s3://${BUCKET}/out/`, '--overlap', 'buffer-all', '--pause-on-failure'),
      cli('schedule', 'update', id),
      cli('schedule', 'backfill', id, '--from', '2026-01-02', '--to', '2026-01-01'),
      cli('schedule', 'backfill', id, '--from', '2026-02-30', '--to', '2026-03-02'),
      cli('schedule', 'backfill', id, '--from', '2026-01-01', '--to', '2999-01-01'),
    ]);
    expect(up.code).toBe(0);
    expect(up.stdout).toMatch(/when {7}cron 30 3 \* \* 1-5 \(Europe\/Paris\)/);
    expect(nothing.stderr).toMatch(/nothing to change/);
    expect(backwards.stderr).toMatch(/--to \(2026-01-01\) must be after --from/);
    expect(noDay).toMatchObject({ code: 1, stderr: 'partflow: --from "2026-02-30" is not a valid date (2026-02 has 28 days)\n' });
    expect(future).toMatchObject({ code: 1, stderr: expect.stringMatching(/^partflow: --to \(2999-01-01T00:00:00.000Z\) is in the future \(it is now 20\d\d-/) });
    const d = await describe_(id);
    expect(d.spec.timezone).toBe('Europe/Paris');
    expect(d.policies).toMatchObject({ overlap: 'BUFFER_ALL', pauseOnFailure: true });
    expect(d.action.args?.[0]).toEqual({ pipeline: 'copy', source: `s3://${BUCKET}/src/`, partitionBytes: 1024, target: `s3://${BUCKET}/out/` });

    // An empty value is refused, not taken for "not given"; times that never fire leave the schedule as it was.
    const [emptyPipeline, never] = [await cli('schedule', 'update', id, '--pipeline', ''), await cli('schedule', 'update', id, '--cron', '0 0 30 2 *', '--max-parallel', '3')];
    expect(emptyPipeline).toMatchObject({ code: 1, stderr: 'partflow: --pipeline is empty: give a value, or leave the option out\n' });
    expect(never).toMatchObject({ code: 1, stderr: expect.stringContaining(`schedule "${id}": cron 0 0 30 2 * (Europe/Paris) never fires (Temporal finds no time that matches it, up to the year 2100), so it was left as it was`) });
    const kept = await describe_(id);
    expect(kept.spec.calendars?.[0].comment).toBe('30 3 * * 1-5');
    expect(kept.info.nextActionTimes.length).toBeGreaterThan(0);
    expect(kept.action.args?.[0]).toEqual(d.action.args?.[0]);
    expect(kept.policies).toMatchObject({ overlap: 'BUFFER_ALL', pauseOnFailure: true });

    // Mon 5 and Tue 6 January 2026 at 03:30 Paris time are 02:30 UTC: two runs, one after the other.
    const back = await cli('schedule', 'backfill', id, '--from', '2026-01-04T00:00:00Z', '--to', '2026-01-06T23:00:00Z');
    expect(back.code).toBe(0);
    const { handles } = await closedRuns(id, 2);
    expect(handles.map((x) => x.workflowId)).toEqual([`${id}-2026-01-05T02:30:00Z`, `${id}-2026-01-06T02:30:00Z`]);
    expect(await Promise.all(handles.map(async (x) => (await x.result() as IngestSummary).stages.copy))).toEqual([
      expect.objectContaining({ succeeded: 3, skipped: 3 }), expect.objectContaining({ succeeded: 3, skipped: 3 }),
    ]);

    expect((await cli('schedule', 'pause', id, '--note', 'source migration')).stdout).toBe(`paused ${id}: source migration\n`);
    expect((await describe_(id)).state).toMatchObject({ paused: true, note: 'source migration' });
    // Listing reads Temporal's visibility store, which catches up a moment after a change.
    const listed = await until('the paused schedule in the list', 30_000, async () => {
      const rows = JSON.parse((await cli('schedule', 'list', '--json')).stdout) as { id: string; state: string }[];
      return rows.find((r) => r.id === id && r.state === 'paused');
    });
    expect(listed).toMatchObject({ workflow: 'ingest', when: 'cron 30 3 * * 1-5 (Europe/Paris)', note: 'source migration' });
    expect((await cli('schedule', 'unpause', id, '--note', 'migration done')).code).toBe(0);
    expect((await describe_(id)).state).toMatchObject({ paused: false, note: 'migration done' });
    // Without --note, pause and unpause keep the schedule's note (an owner, say); pausing twice keeps the reason.
    expect((await cli('schedule', 'update', id, '--note', 'owner: data team')).code).toBe(0);
    expect((await cli('schedule', 'pause', id)).stdout).toBe(`paused ${id}: owner: data team\n`);
    expect((await cli('schedule', 'pause', id)).stdout).toBe(`${id} is already paused: owner: data team\n`);
    expect((await cli('schedule', 'unpause', id)).stdout).toBe(`unpaused ${id}: owner: data team\n`);
    expect((await describe_(id)).state).toMatchObject({ paused: false, note: 'owner: data team' });
    expect((await cli('schedule', 'unpause', id)).stdout).toBe(`${id} is not paused\n`);
    expect((await cli('schedule', 'delete', id)).stdout).toBe(`deleted schedule ${id}\n`);
    await expect(describe_(id)).rejects.toThrow(/not found/);
  });

  it('backfill runs every firing of the period, one after another, whatever the schedule\'s policy; with --overlap skip only the first, and says so', async () => {
    const id = 'sched-backfill';
    // Daily at 00:00 UTC, overlap skip (the default); the first test's outputs make the runs quick.
    await createSchedule(h.client, h.cfg, {
      id, input: { pipeline: 'copy', source: `s3://${BUCKET}/src/`, partitionBytes: 1024, target: `s3://${BUCKET}/out/` }, spec: scheduleSpec({ cron: '0 0 * * *' }),
    });
    const all = await cli('schedule', 'backfill', id, '--from', '2025-11-20', '--to', '2025-11-22');
    expect(all.stderr).toBe('');
    expect(all.code).toBe(0);
    expect(all.stdout).toContain(`backfilling ${id}: 3 firings from 2025-11-20T00:00:00.000Z to 2025-11-22T00:00:00.000Z `
      + '(2025-11-20T00:00:00Z, 2025-11-21T00:00:00Z, 2025-11-22T00:00:00Z), overlap buffer-all: all run, one after another.\n');
    expect(all.stdout).toContain(`a firing's time only names the run (${id}-<time>), so the runs after the first find every partition committed and reuse them`);
    // The first starts at once, the others wait for it (one may have started by the time the command looks).
    const taken = /\ntaken: (\d) started(?:, (\d) waiting to run)?; `partflow schedule describe sched-backfill` shows the runs\n$/.exec(all.stdout);
    expect(taken).not.toBeNull();
    expect(Number(taken![1]) + Number(taken![2] ?? 0)).toBe(3);
    const { handles } = await closedRuns(id, 3);
    expect(handles.map((x) => x.workflowId)).toEqual(['20', '21', '22'].map((day) => `${id}-2025-11-${day}T00:00:00Z`));
    const runs = await Promise.all(handles.map((x) => x.describe()));
    for (let i = 1; i < 3; i++) expect(runs[i].startTime.getTime()).toBeGreaterThanOrEqual(runs[i - 1].closeTime!.getTime());
    // Each read the source as it was then: after the first, nothing was left to compute.
    for (const x of handles.slice(1)) expect((await x.result() as IngestSummary).stages.copy).toMatchObject({ succeeded: 3, skipped: 3 });

    // With skip, the three firings come in one batch: the first runs, the others are skipped, and the command says so.
    const one = await cli('schedule', 'backfill', id, '--from', '2025-11-23', '--to', '2025-11-25', '--overlap', 'skip');
    expect(one.code).toBe(0);
    expect(one.stdout).toContain('3 firings from 2025-11-23T00:00:00.000Z to 2025-11-25T00:00:00.000Z (2025-11-23T00:00:00Z, 2025-11-24T00:00:00Z, 2025-11-25T00:00:00Z), '
      + 'overlap skip: a firing is skipped if a run of the schedule is going when Temporal takes it; it takes them 10 at a time, so the first of each batch runs '
      + 'if the run before has ended, and how many run depends on how long runs take.\n');
    expect(one.stdout).toMatch(/\ntaken: 1 started, 2 skipped for overlap; /);
    const after = await closedRuns(id, 4);
    expect(after.handles.map((x) => x.workflowId).slice(3)).toEqual([`${id}-2025-11-23T00:00:00Z`]);
    expect(after.d.info.numActionsSkippedOverlap).toBe(2);

    // A period without a firing is a mistake in the dates, said as one.
    const none = await cli('schedule', 'backfill', id, '--from', '2025-11-20T01:00:00Z', '--to', '2025-11-20T23:00:00Z');
    expect(none).toMatchObject({ code: 1, stderr: expect.stringContaining(`schedule "${id}" has no firing from 2025-11-20T01:00:00.000Z to 2025-11-20T23:00:00.000Z: nothing to backfill; its times: cron 0 0 * * * (UTC)\n`) });
  });
});
