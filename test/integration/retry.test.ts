import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { WorkflowHandle } from '@temporalio/client';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ContainerEncoder, syncMarkerFor } from '../../src/avro/container';
import { loadSchema } from '../../src/avro/schemas';
import { IngestSummary, RunManifest } from '../../src/manifest/run';
import { s3Client } from '../../src/storage/client';
import { toolPath } from '../../src/stack/process';
import { builtinPipelines } from '../../src/pipelines';
import { diamondGate, diamondPipeline, flakyCalls, flakyPipeline } from '../fixtures/pipelines';
import { getJson } from '../helpers/s3';
import { startHarness, TestHarness } from '../helpers/stack';
import { runCli } from '../helpers/cli';
import type { PartitionState } from '../../workflows/state';
import { until } from '../helpers/until';
import { connect, RunEndedError } from '../../src';

const BUCKET = 'it-retry';
let h: TestHarness;
let s3: S3Client;

interface Progress { phase: string; stages: Record<string, { done: number; failed: number; blocked: number; skipped: number }>; failed: string[] }

const waiting = (handle: WorkflowHandle) =>
  until('waiting-for-retry', 60_000, async () => {
    const p = await handle.query<Progress>('progress');
    return p.phase === 'waiting-for-retry' ? p : undefined;
  });

async function partitions(handle: WorkflowHandle, q: object = {}): Promise<PartitionState[]> {
  return (await handle.query<{ partitions: PartitionState[] }, [object]>('partitions', q)).partitions;
}

const cli = (...args: string[]) => runCli(h.cfg, ...args);

beforeAll(async () => {
  // `joined` names `right` first in diamond-late: its block shows only once `right` has ended.
  const diamonds = [diamondPipeline('diamond-late', ['right', 'left']), diamondPipeline('diamond-early', ['left', 'right'])];
  h = await startHarness('retry', [...builtinPipelines, flakyPipeline, ...diamonds], { bucket: BUCKET });
  s3 = s3Client(h.cfg.s3);
  const item = loadSchema('item@1', path.join(__dirname, '../fixtures/schemas'));
  const file = (name: string, labels: string[]) => {
    const enc = new ContainerEncoder(item.type, item.json, { codec: 'deflate', sync: syncMarkerFor(name) });
    const parts = [enc.header(), ...labels.map((label, i) => enc.add({ id: i, label }) ?? Buffer.alloc(0)), enc.flush() ?? Buffer.alloc(0)];
    return Buffer.concat(parts);
  };
  const corrupt = Buffer.from(file('c', ['x', 'y']));
  corrupt[corrupt.length - 5] ^= 0xff;
  const put = (key: string, body: Buffer) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  await put('src/a-good.avro', file('a', ['one', 'two', 'three']));
  await put('src/b-flaky.avro', file('b', ['four', 'five']));
  await put('src/c-corrupt.avro', corrupt);
  await put('src/d-allbad.avro', file('d', ['bad', 'bad', 'bad', 'bad']));
  await put('fin/a-good.avro', file('a', ['one', 'two', 'three']));
  await put('fin/c-corrupt.avro', corrupt);
  await put('diamond/one/x.avro', file('x', ['p', 'q']));
  await put('diamond/two/x.avro', file('x', ['p', 'q']));
  await put('diamond/two/y.avro', file('y', ['r']));
});

afterAll(async () => {
  await h?.stop();
});

describe('failed partitions: isolated, inspected, retried', () => {
  const id = `retry-${process.pid}`;
  let handle: WorkflowHandle;

  it('classifies failures, counts what succeeded, and waits for a retry', async () => {
    handle = await h.client.workflow.start('ingest', {
      taskQueue: h.cfg.taskQueue, workflowId: id, workflowExecutionTimeout: '10m',
      args: [{ pipeline: 'flaky', source: `s3://${BUCKET}/src/`, target: `s3://${BUCKET}/out/`, dataset: 'items', waitForRetry: '25s', pack: false }],
    });
    const p = await waiting(handle);
    expect(p.stages.map).toMatchObject({ done: 2, failed: 2 });
    expect(p.stages.enrich).toMatchObject({ done: 2, blocked: 2 });
    const failed = await partitions(handle, { status: 'failed' });
    expect(failed.map((f) => [f.stage, f.name, f.errorType, f.attempts])).toEqual([
      ['map', 'b-flaky.avro', 'TransformFailed', 2],
      ['map', 'c-corrupt.avro', 'CorruptInput', 1],
    ]);
    expect(failed.every((f) => /^p-[0-9a-f]{12}$/.test(f.partition))).toBe(true);
    expect(failed[0].error).toMatch(/stage "map" partition p-[0-9a-f]{12} \(b-flaky\.avro\): transform failed the partition at record 0 of s3:\/\/it-retry\/src\/b-flaky\.avro: lookup service unavailable \(call 2\)/);
    expect(failed[1].error).toMatch(/stage "map" partition p-[0-9a-f]{12} \(c-corrupt\.avro\): corrupt input: s3:\/\/it-retry\/src\/c-corrupt\.avro: .*\(at byte \d+\)/);
    const allBad = (await partitions(handle, { stage: 'map' })).find((e) => e.name === 'd-allbad.avro')!;
    expect(allBad).toMatchObject({ status: 'done', records: { in: 4, out: 0, rejected: 4, dropped: 0 } });
    const desc = await handle.describe();
    expect(desc.searchAttributes.PartflowStatus).toEqual(['waiting-for-retry']);
    expect(desc.searchAttributes.PartflowFailedPartitions).toEqual([2]);
    expect(desc.searchAttributes.PartflowPipeline).toEqual(['flaky']);
    // What the UI shows as the run's current details (it asks the same built-in query).
    const meta = await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
    expect(meta.currentDetails).toMatch(/^ingest \*\*flaky\*\* from s3:\/\/it-retry\/src\/ into s3:\/\/it-retry\/out\/items\//);
    expect(meta.currentDetails).toMatch(/\*\*waiting-for-retry\*\*/);
    expect(meta.currentDetails).toMatch(/- map c-corrupt\.avro: stage "map" partition p-[0-9a-f]{12} \(c-corrupt\.avro\): corrupt input/);
  });

  it('retries one partition through the update: only it and its downstream run again', async () => {
    const flaky = (await partitions(handle, { stage: 'map' })).find((e) => e.name === 'b-flaky.avro')!.partition;
    // The CLI, with --partition alone (no --stage): it sends no empty list, which the workflow refuses.
    const res = await cli('retry', id, '--partition', 'b-flaky.avro');
    expect(res.stderr).toBe('');
    expect(res.stdout).toBe(`re-queued 2: map ${flaky}, enrich ${flaky}\n`);
    await until('b-flaky enrich done', 60_000, async () => ((await partitions(handle, { stage: 'enrich' })).find((e) => e.partition === flaky)?.status === 'done' ? true : undefined));
    const p = await waiting(handle);
    expect(p.stages.map).toMatchObject({ done: 3, failed: 1 });
    const all = await partitions(handle);
    const runs = Object.fromEntries(all.map((e) => [`${e.stage} ${e.name}`, e.runs]));
    expect(runs).toMatchObject({ 'map a-good.avro': 1, 'enrich a-good.avro': 1, 'map b-flaky.avro': 2, 'enrich b-flaky.avro': 1, 'map d-allbad.avro': 1 });
    expect(flakyCalls.get('a-good.avro')).toBe(1);
    expect(flakyCalls.get('b-flaky.avro')).toBe(3);
  });

  it('retries through `temporal workflow signal` (what the UI can send); a corrupt input fails again', async () => {
    execFileSync(toolPath('temporal'), ['workflow', 'signal', '--address', h.cfg.temporalAddress, '--workflow-id', id, '--name', 'retryFailed', '--input', '{"partitions": ["c-corrupt.avro"]}'], { stdio: 'pipe' });
    await until('c-corrupt retried and failed again', 60_000, async () => {
      const e = (await partitions(handle, { stage: 'map' })).find((x) => x.name === 'c-corrupt.avro');
      return e?.runs === 2 && e.status === 'failed' ? true : undefined;
    });
    const again = (await partitions(handle, { status: 'failed' }));
    expect(again.map((e) => [e.name, e.errorType, e.runs])).toEqual([['c-corrupt.avro', 'CorruptInput', 2]]);
    expect(flakyCalls.get('a-good.avro')).toBe(1);
  });

  it('status says the run waits for a retry and how to go on; partitions from Temporal name each output', async () => {
    const st = await cli('status', id);
    expect(st.stdout).toMatch(new RegExp(`^${id}  RUNNING \\(waiting-for-retry\\)  started `));
    expect(st.stdout).toContain('has 1 failed partition and waits for a retry:');
    expect(st.stdout).toMatch(/! map c-corrupt\.avro: .*corrupt input/);
    expect(st.stdout).toContain(`partflow finish ${id}`);
    const done = JSON.parse((await cli('partitions', id, '--status', 'done', '--stage', 'map', '--json')).stdout) as { partition: string; name: string; output: string }[];
    expect(done.map((r) => r.name).sort()).toEqual(['a-good.avro', 'b-flaky.avro', 'd-allbad.avro']);
    // --offset and --limit page in the workflow's query: the same rows as a slice of the whole list.
    const page = (...args: string[]) => cli('partitions', id, '--status', 'done', '--stage', 'map', '--json', ...args).then((r) => JSON.parse(r.stdout) as unknown[]);
    expect(await page('--offset', '1', '--limit', '1')).toEqual(done.slice(1, 2));
    expect(await page('--offset', '1')).toEqual(done.slice(1));
    expect(await page('--limit', '2')).toEqual(done.slice(0, 2));
    expect(await page('--offset', '1', '--partition', done[1].name)).toEqual([]);
    expect(await page('--offset', '0', '--limit', '1', '--partition', done[2].name)).toEqual([done[2]]);
    for (const r of done) expect(r.output).toMatch(new RegExp(`^s3://${BUCKET}/out/items/map/${r.partition}/[^/]+\\.avro$`));
    // The table prints the same URL, one `partflow cat` reads.
    const table = await cli('partitions', id, '--status', 'done', '--stage', 'map');
    expect(table.stdout).toContain(` ${done[0].output}`);
    expect((await cli('cat', done[0].output, '--limit', '1')).code).toBe(0);
  });

  it('ends partial after the wait, and the CLI lists its partitions from Temporal and from the run manifest', async () => {
    const summary = (await handle.result()) as IngestSummary;
    expect(summary.status).toBe('partial');
    expect(summary.stages.map.failures).toEqual([expect.objectContaining({ name: 'c-corrupt.avro', attempts: 1 })]);
    const corrupt = summary.stages.map.failures[0].partition;
    const run = await getJson<RunManifest>(s3, summary.manifest);
    expect(run.failures).toEqual([expect.objectContaining({ stage: 'map', partition: corrupt, name: 'c-corrupt.avro', runs: 2 })]);
    expect(run.blocked).toEqual([{ stage: 'enrich', partition: corrupt, name: 'c-corrupt.avro' }]);

    // Temporal says COMPLETED; status says how the run ended.
    expect((await cli('status', id)).stdout).toMatch(new RegExp(`^${id}  COMPLETED \\(partial\\)  started `));
    const live = await cli('partitions', id, '--status', 'failed');
    expect(live.stdout).toMatch(new RegExp(`${corrupt} +c-corrupt\\.avro +map +failed +1 +2 .*CorruptInput +.*corrupt input`));
    const fromS3 = await cli('partitions', id, '--dataset', summary.outputPrefix, '--json');
    const rows = JSON.parse(fromS3.stdout) as { partition: string; stage: string; status: string }[];
    expect(rows.filter((r) => r.status === 'failed').map((r) => r.partition)).toEqual([corrupt]);
    expect(rows.filter((r) => r.status === 'done')).toHaveLength(6);
    // A partition is found by its id, its name, or a source key it reads.
    for (const q of [corrupt, 'c-corrupt.avro', 'src/c-corrupt.avro', `s3://${BUCKET}/src/c-corrupt.avro`]) {
      const one = JSON.parse((await cli('partitions', id, '--dataset', summary.outputPrefix, '--partition', q, '--json')).stdout) as { partition: string }[];
      expect(one.map((r) => r.partition)).toEqual([corrupt, corrupt]);
    }

    const hist = await cli('history', summary.outputPrefix, '--partition', 'src/c-corrupt.avro', '--json');
    expect(JSON.parse(hist.stdout)).toEqual([
      expect.objectContaining({ stage: 'map', result: 'failed', workflowId: id }),
      expect.objectContaining({ stage: 'enrich', result: 'blocked', workflowId: id }),
    ]);
  });

  it('retrying a closed run starts a new run that reuses every committed partition', async () => {
    const unknown = await cli('retry', id, '--partition', 'nosuch.avro');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(new RegExp(`no failed partition of ${id} has the id or name nosuch\\.avro \\(failed: c-corrupt\\.avro\\)`));
    const r = await cli('retry', id);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${id} ended partial; started ${id}-retry-`));
    const newId = /started (\S+),/.exec(r.stdout)?.[1];
    expect(newId).toMatch(new RegExp(`^${id}-retry-`));
    const next = h.client.workflow.getHandle(newId!);
    const p = await waiting(next);
    expect(p.stages.map).toMatchObject({ done: 3, skipped: 3, failed: 1 });
    expect(flakyCalls.get('a-good.avro')).toBe(1);
    await next.terminate('test done');
    // Closed without completing: nothing to finish, and no result to verify by.
    expect((await cli('finish', newId!)).stderr).toBe(`partflow: ${newId} is terminated (closed): only a run waiting for a retry can be finished\n`);
    const verify = await cli('verify', newId!);
    expect(verify.code).toBe(1);
    expect(verify.stderr).toBe(`partflow: ${newId} is terminated and wrote no run manifest under s3://${BUCKET}/out/items/_runs/ (no list of its partitions): verify the dataset's outputs instead: partflow verify s3://${BUCKET}/out/items/\n`);
    // The terminated run wrote no run manifest; the first run's history of a-good.avro says it computed it.
    const hist = JSON.parse((await cli('history', `s3://${BUCKET}/out/items/`, '--partition', 'a-good.avro', '--json')).stdout) as { result: string; stage: string }[];
    expect(hist.filter((e) => e.stage === 'map' && e.result !== 'snapshot').map((e) => e.result)).toEqual(['computed']);
    // The partial first run's snapshot added it (the terminated retry committed none).
    expect(hist.filter((e) => e.stage === 'map' && e.result === 'snapshot')).toEqual([expect.objectContaining({ snapshot: 1, change: 'added', workflowId: id })]);
  });
});

describe('finishing a run that waits for a retry', () => {
  it('partflow finish, or the finishPartial signal, ends it partial at once, with its snapshot; a closed run refuses', async () => {
    const start = (workflowId: string, dataset: string) => h.client.workflow.start('ingest', {
      taskQueue: h.cfg.taskQueue, workflowId, workflowExecutionTimeout: '10m',
      // Far longer than the test may take: only the request can end the wait.
      args: [{ pipeline: 'copy', source: `s3://${BUCKET}/fin/`, target: `s3://${BUCKET}/out/`, dataset, waitForRetry: '1h', pack: false }],
    });
    const id = `finish-${process.pid}`;
    const handle = await start(id, 'fin-cli');
    await waiting(handle);
    // Its result would come in an hour: verify says so at once instead of waiting for it.
    const verify = await cli('verify', id);
    expect(verify.code).toBe(1);
    expect(verify.stderr).toBe(`partflow: ${id} is still running (waiting for a retry): verify it when it ends, or verify the dataset's outputs instead: partflow verify s3://${BUCKET}/out/fin-cli/\n`);
    // A bare `partflow retry`, as the waiting message says: every failed partition runs again (and fails again).
    const bare = await cli('retry', id);
    expect(bare.stderr).toBe('');
    expect(bare.stdout).toMatch(/^re-queued 1: copy p-[0-9a-f]{12}\n$/);
    await until('c-corrupt run twice', 60_000, async () => ((await partitions(handle, { status: 'failed' })).some((e) => e.runs === 2) ? true : undefined));
    await waiting(handle);
    const r = await cli('finish', id, '--wait');
    expect(r.stdout).toContain(`${id} stops waiting and ends partial, with 1 failed partition`);
    expect(r.stdout).toMatch(/Ingest partial: 2 partitions of fin-cli/);
    expect(r.code).toBe(3);
    const summary = (await handle.result()) as IngestSummary;
    expect(summary).toMatchObject({ status: 'partial', snapshot: { number: 1 } });
    expect(summary.stages.copy.failures).toEqual([expect.objectContaining({ name: 'c-corrupt.avro' })]);
    expect(summary.stages.copy.succeeded).toBe(1);
    // Closed now: nothing to finish.
    const again = await cli('finish', id);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`partflow: ${id} ended partial (closed): only a run waiting for a retry can be finished\n`);
    // The library says the same, with an error it exports, for a finish and for a retry.
    const client = await connect(h.cfg);
    try {
      const run = client.getIngest(id);
      const fin = await run.finishPartial().then(() => undefined, (e: unknown) => e);
      expect(fin).toBeInstanceOf(RunEndedError);
      expect([(fin as RunEndedError).message, (fin as RunEndedError).ended]).toEqual([`${id} ended partial (closed): only a run waiting for a retry can be finished`, 'ended partial']);
      const retried = await run.retryFailed().then(() => undefined, (e: unknown) => e);
      expect((retried as Error).message).toBe(`${id} ended partial (closed): only a running run takes a retry; start a new ingest of its input, which reuses every committed partition (as \`partflow retry\` does)`);
      expect(retried).toBeInstanceOf(RunEndedError);
    } finally {
      await client.close();
    }

    const viaSignal = await start(`${id}-signal`, 'fin-signal');
    await waiting(viaSignal);
    execFileSync(toolPath('temporal'), ['workflow', 'signal', '--address', h.cfg.temporalAddress, '--workflow-id', `${id}-signal`, '--name', 'finishPartial'], { stdio: 'pipe' });
    expect(await viaSignal.result()).toMatchObject({ status: 'partial', snapshot: { number: 1 } });
  });
});

describe('a retry of a run too large for its workflow to hold every partition id', () => {
  it('partflow retry names the re-queued partitions from the plan, not by plan index', async () => {
    const id = `many-ids-${process.pid}`;
    // summaryIdsMax 1: the workflow keeps the id of a-good (index 0) only, and answers "#1" for c-corrupt.
    const handle = await h.client.workflow.start('ingest', {
      taskQueue: h.cfg.taskQueue, workflowId: id, workflowExecutionTimeout: '10m',
      args: [{ pipeline: 'copy', source: `s3://${BUCKET}/fin/`, target: `s3://${BUCKET}/out/`, dataset: 'many-ids', waitForRetry: '1h', pack: false }, { summaryIdsMax: 1 }],
    });
    await waiting(handle);
    const res = await cli('retry', id);
    expect(res.stderr).toBe('');
    expect(res.stdout).toMatch(/^re-queued 1: copy p-[0-9a-f]{12} \(c-corrupt\.avro\)\n$/);
    await waiting(handle);
    await handle.executeUpdate('finishPartial');
    expect(((await handle.result()) as IngestSummary).status).toBe('partial');
  });
});

describe('a retry that comes while a sibling of the failed stage still runs', () => {
  afterEach(() => diamondGate.open());

  it.each([
    ['diamond-late', 'diamond/one/', 1],
    // Two small partitions share one activity per stage.
    ['diamond-early', 'diamond/two/', 2],
  ])('%s: the stage that reads both runs once the retried stage is committed', async (pipeline, source, n) => {
    diamondGate.failing = true;
    diamondGate.hold();
    const handle = await h.client.workflow.start('ingest', {
      taskQueue: h.cfg.taskQueue, workflowId: `${pipeline}-${process.pid}`, workflowExecutionTimeout: '5m',
      // `right` waits at the gate inside a record, sending no heartbeat: give it room on a slow host.
      args: [{ pipeline, source: `s3://${BUCKET}/${source}`, target: `s3://${BUCKET}/out/`, dataset: pipeline, waitForRetry: '2m', pack: false, heartbeatTimeoutSeconds: 900 }],
    });
    const stage = async (name: string) => (await handle.query<Progress>('progress')).stages[name];
    await until('left failed', 60_000, async () => ((await stage('left'))?.failed === n ? true : undefined));
    // Still running (`right` is held): a request to finish is refused, with the reason.
    const refused = await handle.executeUpdate('finishPartial').then(() => undefined, (err: Error) => err);
    expect((refused?.cause as Error | undefined)?.message).toMatch(/^the run is running, not waiting for a retry; finishPartial ends only a run whose failed partitions wait for one$/);
    expect(refused?.cause).toMatchObject({ type: 'FinishRefused', nonRetryable: true });
    diamondGate.failing = false;
    const res = await handle.executeUpdate<{ requeued: { stage: string }[] }, [object]>('retryFailed', { args: [{}] });
    // `right` still runs, so `joined` cannot be queued with `left`.
    expect(res.requeued.map((r) => r.stage)).toEqual(Array(n).fill('left'));
    await until('left retried and committed', 60_000, async () => ((await stage('left'))?.done === n ? true : undefined));
    expect((await stage('right')).done).toBe(0);
    diamondGate.open();
    const r = (await handle.result()) as IngestSummary;
    expect(r.status).toBe('completed');
    expect(r.stages.joined.records).toEqual({ in: 2 * (n === 1 ? 2 : 3), out: 2 * (n === 1 ? 2 : 3), rejected: 0, dropped: 0 });
    const run = await getJson<RunManifest>(s3, r.manifest);
    expect(run.blocked ?? []).toEqual([]);
    expect(run.committed.joined).toHaveLength(n);
  });
});
