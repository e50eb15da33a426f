import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { gunzipSync } from 'node:zlib';
import { IngestSummary, RunManifest } from '../../src/manifest/run';
import type { Plan } from '../../src/pipeline/plan';
import { INHERIT_SCHEMA, PartitionError, PipelineDefinition } from '../../src/pipeline/types';
import { builtinPipelines } from '../../src/pipelines';
import { ExportManifest } from '../../src/snapshots/export';
import { openAvroObject } from '../../src/io/avro-object-reader';
import { datasetRef, snapshotKey } from '../../src/snapshots/layout';
import { applyRetention, planRetention } from '../../src/snapshots/retention';
import { commitSnapshot, ConditionalWritesRequiredError, readHead, readSnapshot } from '../../src/snapshots/store';
import { changedPartitions, commitCursor, datasetChanges } from '../../src/snapshots/consume';
import type { SnapshotHead } from '../../src/snapshots/types';
import { createS3Client, s3Client } from '../../src/storage/client';
import { listObjects, objectExists } from '../../src/storage/objects';
import { parseS3Url } from '../../src/storage/s3url';
import { partitionHistory } from '../../src/tools/history';
import { runCli } from '../helpers/cli';
import { runOf } from '../helpers/runs';
import { decodeUrl, fetchTree, getJson, getUrl } from '../helpers/s3';
import { startHarness, TestHarness } from '../helpers/stack';

/**
 * Dataset snapshots on the real stack: three ingests with source changes between them, two
 * ingests finishing together, a consumer's cursor, the export for search indexes, and retention.
 * Every snapshot here has part files (two entries each), so reading them is covered too.
 */
process.env.PARTFLOW_SNAPSHOT_PART_ENTRIES = '2';

const BUCKET = 'it-snapshots';
const DS = `s3://${BUCKET}/out/ds/`;
let h: TestHarness;
let s3: S3Client;
const cli = (...args: string[]) => runCli(h.cfg, ...args);
const put = (key: string, body: string) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
const lines = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ id: i, name: `${prefix} ${i}`, score: i / 2 })).join('\n') + '\n';
const B1 = lines('b', 4);

async function ingest(id: string): Promise<{ summary: IngestSummary; run: RunManifest }> {
  const summary = (await h.client.workflow.execute('ingest', {
    taskQueue: h.cfg.taskQueue, workflowId: `${id}-${process.pid}`, workflowExecutionTimeout: '3m',
    args: [{ pipeline: 'copy', source: `s3://${BUCKET}/feeds/`, target: `s3://${BUCKET}/out/`, dataset: 'ds', pack: false, maxParallel: 4 }],
  })) as IngestSummary;
  return { summary, run: await runOf(s3, summary) };
}

/** "stage name" for every change of a kind, e.g. ['copy b.jsonl']. */
function named(head: SnapshotHead, stages: Record<string, { partition: string; name: string }[]>, kind: 'added' | 'changed' | 'removed'): string[] {
  const name = (stage: string, id: string) => stages[stage]?.find((p) => p.partition === id)?.name ?? id;
  return Object.entries(head.changes).flatMap(([stage, c]) => c[kind].map((id) => `${stage} ${name(stage, id)}`)).sort();
}

/** Minute `min` of a fixed day, as a run's start: what orders commits of runs that overlapped. */
const at = (min: number) => new Date(Date.UTC(2026, 0, 1, 0, min)).toISOString();
/** A run manifest as if run `id` had started at minute `min`. */
const as = (r: RunManifest, id: string, min: number): RunManifest => ({ ...r, workflowId: id, runId: `${id}-run`, startedAt: at(min) });

/** Fails a whole partition that holds a record with `poison` set. */
const poisonable: PipelineDefinition = {
  name: 'poisonable',
  stages: [{ name: 'copy', schema: INHERIT_SCHEMA, version: '1', transform: (r: { poison?: unknown }) => {
    if (r.poison) throw new PartitionError('a poisoned record', { retryable: false });
    return r;
  } }],
};

const runs: RunManifest[] = [];
const ids: Record<string, string> = {};

beforeAll(async () => {
  h = await startHarness('snapshots', [...builtinPipelines, poisonable], { bucket: BUCKET });
  s3 = s3Client(h.cfg.s3);
  await put('feeds/a.jsonl', lines('a', 3));
  await put('feeds/b.jsonl', B1);
  await put('feeds/c.jsonl', lines('c', 2));
});

afterAll(async () => {
  await h?.stop();
});

describe('dataset snapshots', () => {
  it('three ingests with source changes between them commit snapshots 1, 2 and 3 with exact changes', async () => {
    const first = await ingest('snap-1');
    expect(first.summary.snapshot).toEqual({ number: 1, url: `${DS}_snapshots/00000001.json` });
    runs.push(first.run);
    for (const p of first.run.committed.copy) ids[p.name] = p.partition;
    const s1 = await readSnapshot(s3, datasetRef(DS), 1);
    expect(s1).toMatchObject({ snapshot: 1, parent: 0, status: 'completed', run: { workflowId: `snap-1-${process.pid}`, manifest: first.summary.manifest } });
    expect(s1.parts!.length).toBe(3); // 6 entries, 2 a part
    expect(s1.stages.copy.map((p) => p.name)).toEqual(['a.jsonl', 'b.jsonl', 'c.jsonl']);
    expect(s1.stages.copy[0]).toMatchObject({ records: 3, output: first.run.committed.copy[0].output, sha256: first.run.committed.copy[0].sha256, codeVersion: '2', workflowId: `snap-1-${process.pid}` });
    expect(named(s1, s1.stages, 'added')).toEqual(['copy a.jsonl', 'copy b.jsonl', 'copy c.jsonl', 'raw a.jsonl', 'raw b.jsonl', 'raw c.jsonl']);

    // 2: b changes, d is added, c disappears.
    await put('feeds/b.jsonl', lines('b changed', 5));
    await put('feeds/d.jsonl', lines('d', 2));
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'feeds/c.jsonl' }));
    const second = await ingest('snap-2');
    runs.push(second.run);
    ids['d.jsonl'] = second.run.committed.copy.find((p) => p.name === 'd.jsonl')!.partition;
    expect(second.summary.snapshot?.number).toBe(2);
    const s2 = await readSnapshot(s3, datasetRef(DS), 2);
    const s1s = s1.stages;
    expect(s2.parent).toBe(1);
    expect(named(s2, s2.stages, 'added')).toEqual(['copy d.jsonl', 'raw d.jsonl']);
    expect(named(s2, s2.stages, 'changed')).toEqual(['copy b.jsonl', 'raw b.jsonl']);
    expect(named(s2, s1s, 'removed')).toEqual(['copy c.jsonl', 'raw c.jsonl']);

    // 3: b back to its first bytes (the same content version as in 1), d gone again, a changes.
    await put('feeds/b.jsonl', B1);
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'feeds/d.jsonl' }));
    await put('feeds/a.jsonl', lines('a changed', 3));
    const third = await ingest('snap-3');
    runs.push(third.run);
    expect(third.summary.snapshot?.number).toBe(3);
    const s3h = await readSnapshot(s3, datasetRef(DS), 3);
    expect(named(s3h, s3h.stages, 'changed')).toEqual(['copy a.jsonl', 'copy b.jsonl', 'raw a.jsonl', 'raw b.jsonl']);
    expect(named(s3h, s2.stages, 'removed')).toEqual(['copy d.jsonl', 'raw d.jsonl']);
    expect(s3h.stages.copy.find((p) => p.name === 'b.jsonl')!.output).toBe(s1.stages.copy.find((p) => p.name === 'b.jsonl')!.output);

    // Net from 1 to 3: b reverted is no change; d added then removed is nothing.
    const r = await cli('changes', DS, '--since', '1', '--stage', 'copy', '--json');
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ from: 1, to: 3 });
    expect(out.changes.map((c: { change: string; name: string }) => `${c.change} ${c.name}`)).toEqual(['changed a.jsonl', 'removed c.jsonl']);
    expect(out.changes[0]).toMatchObject({ partition: ids['a.jsonl'], output: s3h.stages.copy[0].output, records: 3, previous: s1.stages.copy[0].output });

    const diff = JSON.parse((await cli('diff', DS, '2', '3', '--json')).stdout);
    expect(diff.changes.map((c: { stage: string; change: string; name: string }) => `${c.stage} ${c.change} ${c.name}`)).toEqual([
      'copy changed a.jsonl', 'copy changed b.jsonl', 'copy removed d.jsonl', 'raw changed a.jsonl', 'raw changed b.jsonl', 'raw removed d.jsonl',
    ]);
    const list = await cli('snapshots', DS);
    expect(list.stdout.trim().split('\n').map((l) => l.split(/\s+/).slice(0, 4).join(' '))).toEqual([
      'snapshot parent time status', expect.stringMatching(/^1 0 \S+ completed$/), expect.stringMatching(/^2 1 \S+ completed$/), expect.stringMatching(/^3 2 \S+ completed$/),
    ]);
    const hist = await partitionHistory(s3, DS, 'a.jsonl');
    expect(hist.filter((e) => e.result === 'snapshot' && e.stage === 'copy').map((e) => `${e.snapshot} ${e.change}`)).toEqual(['1 added', '3 changed']);
    expect(hist.filter((e) => e.result === 'computed').map((e) => e.attempts)).toEqual([1, 1, 1, 1]);
    // Looked up by source key, a partition's history keeps its removal: the run that removed it no longer plans that key.
    for (const [key, want] of [['feeds/c.jsonl', ['1 added', '2 removed']], ['feeds/d.jsonl', ['2 added', '3 removed']]] as const) {
      const h = await partitionHistory(s3, DS, key);
      expect(h.filter((e) => e.result === 'snapshot' && e.stage === 'copy').map((e) => `${e.snapshot} ${e.change}`)).toEqual(want);
    }
    const removed = (await partitionHistory(s3, DS, 'feeds/c.jsonl')).find((e) => e.change === 'removed' && e.stage === 'copy');
    expect(removed).toMatchObject({ partition: ids['c.jsonl'], name: 'c.jsonl', contentVersion: s1.stages.copy[2].contentVersion });
    // Asked by the URL of an object since deleted: the snapshot that removed its partition shows too.
    const gone = await partitionHistory(s3, DS, `s3://${BUCKET}/feeds/c.jsonl`);
    expect(gone.filter((e) => e.result === 'snapshot' && e.stage === 'copy').map((e) => `${e.snapshot} ${e.change}`)).toEqual(['1 added', '2 removed']);
  });

  it("a consumer's cursor moves only with --commit, and to the snapshot that was reported", async () => {
    const first = JSON.parse((await cli('changes', DS, '--consumer', 'solr', '--stage', 'copy', '--json')).stdout);
    expect(first).toMatchObject({ from: 0, to: 3, consumer: 'solr', committed: false });
    expect(first.changes.map((c: { change: string; name: string }) => `${c.change} ${c.name}`)).toEqual(['added a.jsonl', 'added b.jsonl']);
    expect(await objectExists(s3, BUCKET, 'out/ds/_consumers/solr.json')).toBe(false);
    // The library sees the same and reads the records.
    const seen: string[] = [];
    for await (const p of changedPartitions(DS, { since: 0, stage: 'copy', s3 })) {
      let n = 0;
      for await (const _ of p.records()) n++;
      seen.push(`${p.change} ${p.name} ${n}`);
    }
    expect(seen).toEqual(['added a.jsonl 3', 'added b.jsonl 4']);
    await expect(datasetChanges(DS, { since: 9, s3 })).rejects.toThrow(/snapshot 9 is newer than snapshot 3 of s3:\/\/it-snapshots\/out\/ds\//);
  });

  it('a mistyped dataset URL fails snapshots, changes, diff and export ("check the URL"), unlike a dataset with no snapshot yet', async () => {
    const typo = `s3://${BUCKET}/out/dss/`;
    const nothing = `nothing stored at ${typo} (no _partflow.json): check the URL`;
    for (const args of [['snapshots', typo], ['snapshots', typo, '--json'], ['changes', typo, '--since', '0'], ['changes', typo, '--consumer', 'c'],
      ['diff', typo, '0', '1'], ['export', typo, '--stage', 'copy', '--since', '0', '--to', `s3://${BUCKET}/typo-exports/`]]) {
      const r = await cli(...args);
      expect([args.join(' '), r.code, r.stderr.trim(), r.stdout]).toEqual([args.join(' '), 1, `partflow: ${nothing}`, '']);
    }
    // A cursor is not written into it either, not even at 0.
    const commit = await cli('changes', typo, '--consumer', 'c', '--commit', '0');
    expect([commit.code, commit.stderr.trim()]).toEqual([1, `partflow: ${nothing}`]);
    await expect(commitCursor(s3, typo, 'c', 0)).rejects.toThrow(nothing);
    expect(await listObjects(s3, BUCKET, 'out/dss/')).toEqual([]);
    // A dataset whose first ingest has planned (its _partflow.json) but not ended has no snapshot yet: not an error for snapshots.
    await put('out/fresh/_partflow.json', JSON.stringify({ kind: 'partflow.dataset', version: 2, dataset: 'fresh', source: `s3://${BUCKET}/feeds/` }));
    const fresh = `s3://${BUCKET}/out/fresh/`;
    expect(await cli('snapshots', fresh)).toEqual({ code: 0, stdout: `${fresh} has no snapshots yet: an ingest commits one when it ends\n`, stderr: '' });
    expect(await cli('snapshots', fresh, '--json')).toEqual({ code: 0, stdout: '[]\n', stderr: '' });
    expect((await cli('changes', fresh, '--since', '0')).stderr.trim()).toBe(`partflow: ${fresh} has no snapshots yet: an ingest commits one when it ends`);
    expect((await cli('diff', fresh, '0', '1')).stderr.trim()).toBe(`partflow: snapshot 1 of ${fresh} does not exist: it has no snapshots yet (an ingest commits one when it ends)`);
    expect((await cli('changes', fresh, '--consumer', 'c', '--commit', '0')).code).toBe(0);
    // Other objects but no dataset: not partflow's.
    await put('out/other/notes.txt', 'mine');
    const other = await cli('snapshots', `s3://${BUCKET}/out/other/`);
    expect([other.code, other.stderr.trim()]).toEqual([1, `partflow: no partflow dataset at s3://${BUCKET}/out/other/ (no _partflow.json and no snapshots, though other objects are stored under it): check the URL`]);
    for (const k of ['out/fresh/_partflow.json', 'out/fresh/_consumers/c.json', 'out/other/notes.txt']) await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: k }));
  });

  it("the README's consumer loop, from the package's exports, takes the dataset's URL", async () => {
    const api = await import('../../src');
    const client = api.s3Client(h.cfg.s3);
    expect(client).toBe(s3); // one shared client per endpoint and credentials
    const since = (await api.readCursor(client, DS, 'readme'))?.snapshot ?? 0;
    const to = await api.latestSnapshot(client, DS);
    const seen: string[] = [];
    for await (const p of api.changedPartitions(DS, { since, to, stage: 'copy', s3: client })) seen.push(`${p.change} ${p.name}`);
    await api.commitCursor(client, DS, 'readme', to);
    expect([since, to, seen]).toEqual([0, 3, ['added a.jsonl', 'added b.jsonl']]);
    expect(await api.readCursor(client, api.datasetRef(DS), 'readme')).toMatchObject({ consumer: 'readme', snapshot: 3 });
    expect(await api.snapshotNumbers(client, DS)).toEqual([1, 2, 3]);
    expect(Object.keys((await api.readSnapshot(client, DS, 3)).stages)).toEqual(['raw', 'copy']);
    await expect(api.readCursor(client, 's3://it-snapshots', 'readme')).rejects.toThrow('s3://it-snapshots is a bucket, not a dataset: give s3://bucket/prefix/<dataset>/');
    // gc below keeps what cursors hold: this one must not hold snapshot 3.
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'out/ds/_consumers/readme.json' }));
  });

  it('two ingests of one dataset finishing together commit snapshots 4 and 5, neither lost', async () => {
    const start = (id: string) => h.client.workflow.start('ingest', {
      taskQueue: h.cfg.taskQueue, workflowId: `${id}-${process.pid}`, workflowExecutionTimeout: '3m',
      args: [{ pipeline: 'copy', source: `s3://${BUCKET}/feeds/`, target: `s3://${BUCKET}/out/`, dataset: 'ds', pack: false, maxParallel: 4 }],
    });
    const [x, y] = await Promise.all([start('snap-x'), start('snap-y')]);
    const done = (await Promise.all([x.result(), y.result()])) as IngestSummary[];
    expect(done.map((s) => s.snapshot?.number).sort()).toEqual([4, 5]);
    const d = datasetRef(DS);
    const [h4, h5] = [await readHead(s3, d, 4), await readHead(s3, d, 5)];
    expect([h4.parent, h5.parent]).toEqual([3, 4]);
    expect([h4.status, h5.status]).toEqual(['completed', 'completed']);
    expect(new Set([h4.run.workflowId, h5.run.workflowId])).toEqual(new Set([`snap-x-${process.pid}`, `snap-y-${process.pid}`]));
    expect((await readSnapshot(s3, d, 5)).stages).toEqual((await readSnapshot(s3, d, 3)).stages); // nothing changed in the sources

    // The consumer commits what it processed (3), not the newer 5; then catches up in one step.
    expect((await cli('changes', DS, '--consumer', 'solr', '--commit', '3')).stdout).toMatch(/consumer solr: cursor 0 -> 3/);
    expect((await getJson<{ snapshot: number }>(s3, `${DS}_consumers/solr.json`)).snapshot).toBe(3);
    const next = JSON.parse((await cli('changes', DS, '--consumer', 'solr', '--commit', '--json')).stdout);
    expect(next).toMatchObject({ from: 3, to: 5, committed: true, changes: [] });
    expect((await getJson<{ snapshot: number }>(s3, `${DS}_consumers/solr.json`)).snapshot).toBe(5);
    // A stale or mistyped number does not move the cursor back; --rewind does, on purpose.
    const back = await cli('changes', DS, '--consumer', 'solr', '--commit', '4');
    expect(back.code).not.toBe(0);
    expect(back.stderr).toMatch(/consumer "solr" of s3:\/\/it-snapshots\/out\/ds\/ is at snapshot 5; committing 4 would move its cursor back .*--rewind/);
    expect((await getJson<{ snapshot: number }>(s3, `${DS}_consumers/solr.json`)).snapshot).toBe(5);
    expect((await cli('changes', DS, '--consumer', 'solr', '--commit', '4', '--rewind')).stdout).toMatch(/consumer solr: cursor 5 -> 4/);
    expect((await cli('changes', DS, '--consumer', 'solr', '--commit', '5')).stdout).toMatch(/consumer solr: cursor 4 -> 5/);
  });

  it('a commit that loses the race for a number rebases onto the winner and takes the next, keeping its partitions', async () => {
    const d = datasetRef(`s3://${BUCKET}/race/ds/`);
    const racing = createS3Client(h.cfg.s3);
    let fired = false;
    racing.middlewareStack.add((next, context) => async (args) => {
      const input = args.input as { Key?: string };
      if (!fired && context.commandName === 'PutObjectCommand' && input.Key === snapshotKey(d, 2)) {
        fired = true; // another run commits 2 first, with a partition this run does not know
        const winner = await readSnapshot(s3, d, 1);
        const extra = { ...runs[0].committed.copy[0], partition: 'p-00000000beef', name: 'other.jsonl', records: 1 };
        const stages = { ...winner.stages, copy: [...winner.stages.copy, extra] };
        await put(snapshotKey(d, 2), JSON.stringify({ ...winner, snapshot: 2, parent: 1, stages, run: { ...winner.run, workflowId: 'other' } }));
      }
      return next(args);
    }, { step: 'initialize', name: 'race' });
    delete process.env.PARTFLOW_SNAPSHOT_PART_ENTRIES; // heads with their partitions inline
    try {
      expect(await commitSnapshot(s3, d, runs[0])).toMatchObject({ snapshot: 1, conflicts: 0, existing: false });
      const r = await commitSnapshot(racing, d, runs[1]);
      expect(r).toMatchObject({ snapshot: 3, conflicts: 1, existing: false });
      const s = await readSnapshot(s3, d, 3);
      expect(s.parts).toBeUndefined();
      expect(s.parent).toBe(2);
      expect(s.stages.copy.map((p) => p.name)).toEqual(['a.jsonl', 'b.jsonl', 'd.jsonl', 'other.jsonl']);
      expect(s.changes.copy).toEqual({ added: [ids['d.jsonl']], changed: [ids['b.jsonl']], removed: [ids['c.jsonl']] });
      // A retried activity finds its snapshot instead of committing another.
      expect(await commitSnapshot(s3, d, runs[1])).toMatchObject({ snapshot: 3, existing: true });
      process.env.PARTFLOW_CONDITIONAL_WRITES = 'off';
      await expect(commitSnapshot(s3, d, runs[2])).rejects.toThrow(ConditionalWritesRequiredError);
    } finally {
      process.env.PARTFLOW_SNAPSHOT_PART_ENTRIES = '2';
      delete process.env.PARTFLOW_CONDITIONAL_WRITES;
    }
    expect(await readHead(s3, d, 4).catch((e: Error) => e.message)).toMatch(/snapshot 4 of s3:\/\/it-snapshots\/race\/ds\/ does not exist: it has 3 snapshots, 1 to 3/);
  });

  it('a run that started before the one behind the latest snapshot does not bring back what that one changed or removed', async () => {
    const d = datasetRef(`s3://${BUCKET}/stale/ds/`);
    // The workflow records when each run started, which is what orders them here.
    expect(runs.map((r) => Date.parse(r.startedAt ?? '')).every((t, i, all) => t > 0 && (i === 0 || t > all[i - 1]))).toBe(true);
    // runs[1] saw b changed, c deleted and d added; runs[0] saw the source before that.
    const newer = await commitSnapshot(s3, d, as(runs[1], 'newer', 10));
    expect(newer).toMatchObject({ snapshot: 1 });
    expect(newer.supersededBy).toBeUndefined();
    const s1 = await readSnapshot(s3, d, 1);
    expect(s1.stages.copy.map((p) => p.name)).toEqual(['a.jsonl', 'b.jsonl', 'd.jsonl']);

    // The older run finishes last (it waited for a retry): its snapshot keeps snapshot 1's partitions.
    const older = await commitSnapshot(s3, d, as(runs[0], 'older', 5));
    expect(older).toMatchObject({ snapshot: 2, supersededBy: { snapshot: 1, workflowId: 'newer', startedAt: at(10) } });
    const s2 = await readSnapshot(s3, d, 2);
    expect(s2.stages).toEqual(s1.stages);
    expect(s2.changes.copy).toEqual({ added: [], changed: [], removed: [] });
    expect(s2).toMatchObject({ sourceAsOf: at(10), run: { workflowId: 'older', startedAt: at(5) } });

    // An even older one behind that no-op snapshot is caught too, and named after the run that read the source.
    expect(await commitSnapshot(s3, d, as(runs[0], 'oldest', 1))).toMatchObject({ snapshot: 3, supersededBy: { snapshot: 1, workflowId: 'newer' } });
    expect((await readSnapshot(s3, d, 3)).stages).toEqual(s1.stages);

    // A run that started later applies as usual: c comes back only because its source has it again.
    const later = await commitSnapshot(s3, d, as(runs[0], 'later', 20));
    expect(later.supersededBy).toBeUndefined();
    const s4 = await readSnapshot(s3, d, 4);
    expect(s4.stages.copy.map((p) => p.name)).toEqual(['a.jsonl', 'b.jsonl', 'c.jsonl']);
    expect(s4.sourceAsOf).toBe(at(20));
  });

  it("the export decodes to the same records as the stage's Avro, with the removal list", async () => {
    const r = await cli('export', DS, '--stage', 'copy', '--since', '1', '--to', `s3://${BUCKET}/exports/`, '--json');
    expect(r.stderr).toBe('');
    const m = JSON.parse(r.stdout) as ExportManifest;
    expect(m).toMatchObject({ from: 1, to: 5, stage: 'copy', records: 3, removed: [{ partition: ids['c.jsonl'], name: 'c.jsonl' }] });
    expect(m.partitions.map((p) => `${p.change} ${p.name}`)).toEqual(['changed a.jsonl']);
    expect(await getJson(s3, `s3://${BUCKET}/exports/ds/copy/00000001-00000005/removed.json`)).toEqual({ partitions: m.removed });
    expect(await getJson(s3, `s3://${BUCKET}/exports/ds/copy/00000001-00000005/_export.json`)).toEqual(m);
    // Everything since 0, through a consumer, with the partition id on every document.
    const all = JSON.parse((await cli('export', DS, '--stage', 'copy', '--consumer', 'es', '--commit', '--partition-field', '_partition', '--to', `s3://${BUCKET}/exports/`, '--json')).stdout) as ExportManifest;
    expect(all.partitions.map((p) => p.name)).toEqual(['a.jsonl', 'b.jsonl']);
    for (const p of all.partitions) {
      const docs = gunzipSync(await getUrl(s3, p.file)).toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
      const avro = (await decodeUrl(s3, p.source)) as Record<string, unknown>[];
      expect(avro.length).toBeGreaterThan(0);
      expect(docs).toEqual(avro.map((x) => ({ ...x, _partition: p.partition })));
      // The manifest holds the schema the records were written with, as the output's header has it.
      const loc = parseS3Url(p.source);
      const reader = await openAvroObject(s3, loc.bucket, loc.key);
      reader.close();
      expect(all.schemas?.[p.schema ?? '']).toEqual(JSON.parse(reader.header.schemaJson));
    }
    expect(Object.keys(all.schemas ?? {})).toHaveLength(1);
    expect((await getJson<{ snapshot: number }>(s3, `${DS}_consumers/es.json`)).snapshot).toBe(5);
  });

  it("exports of another dataset or with other options never share a folder; an interrupted one resumes", async () => {
    const to = `s3://${BUCKET}/exports2/`;
    const folder = `${to}ds/copy/00000001-00000005/`;
    // A second dataset of the same name under another prefix: ds's snapshots, copied.
    const OTHER = `s3://${BUCKET}/other/ds/`;
    for (const [rel, body] of await fetchTree(s3, `${DS}_snapshots/`)) await put(`other/ds/_snapshots/${rel}`, body.toString('utf8'));
    const exp = (ds: string, ...more: string[]) => cli('export', ds, '--stage', 'copy', '--since', '1', '--to', to, ...more);
    const first = await exp(DS);
    expect(first).toMatchObject({ code: 0, stderr: `changed a.jsonl (${ids['a.jsonl']}): 3 records -> ${folder}partitions/${ids['a.jsonl']}.jsonl.gz\n` });
    expect(first.stdout).toContain(`: ${folder}\n`);
    const keys = async () => (await listObjects(s3, BUCKET, 'exports2/')).map((o) => `${o.key} ${o.etag}`);
    const before = await keys();
    expect(before.map((k) => k.split(' ')[0].slice('exports2/ds/copy/00000001-00000005/'.length)).sort())
      .toEqual(['_export.json', '_export.started.json', `partitions/${ids['a.jsonl']}.jsonl.gz`, 'removed.json']);

    const other = await exp(OTHER);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain(`${folder} already holds an export of ${DS} without --partition-field; this export is of ${OTHER} without --partition-field.`);
    expect(other.stderr).toContain('export to another --to prefix, or delete');
    const field = await exp(DS, '--partition-field', '_partition');
    expect(field.code).toBe(1);
    expect(field.stderr).toContain(`this export is of ${DS} with --partition-field _partition.`);
    expect(await keys()).toEqual(before);
    const again = await exp(DS);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/^already exported \(.+\): .*_export\.json\n$/);

    // Interrupted before its last partition file and manifest: the other dataset is still refused, the same export resumes.
    const partKey = `exports2/ds/copy/00000001-00000005/partitions/${ids['a.jsonl']}.jsonl.gz`;
    const m = await getJson<ExportManifest>(s3, `${folder}_export.json`);
    for (const k of [partKey, 'exports2/ds/copy/00000001-00000005/_export.json']) await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: k }));
    const unfinished = await exp(OTHER);
    expect(unfinished.code).toBe(1);
    expect(unfinished.stderr).toContain(`${folder} already holds an unfinished export of ${DS} without --partition-field`);
    const resumed = await exp(DS, '--json');
    expect(resumed.code).toBe(0);
    expect({ ...(JSON.parse(resumed.stdout) as ExportManifest), exportedAt: m.exportedAt }).toEqual(m);
    expect(await objectExists(s3, BUCKET, partKey)).toBe(true);
    // Under another --to, the other dataset's export is refused all the same: its snapshots, copied, point at ds's outputs.
    const own = await cli('export', OTHER, '--stage', 'copy', '--since', '1', '--to', `s3://${BUCKET}/exports3/`);
    expect(own.code).toBe(1);
    expect(own.stderr).toContain(`snapshot 5 of ${OTHER}, stage copy, partition ${ids['a.jsonl']} (a.jsonl): its output "${DS}copy/`);
    expect(own.stderr).toContain(`is not inside the dataset folder ${OTHER}`);
    expect(await listObjects(s3, BUCKET, 'exports3/')).toEqual([]);
  });

  it('gc deletes exactly the unreferenced objects older than the grace period', async () => {
    const d = datasetRef(DS);
    await commitCursor(s3, d, 'slow', 1); // keeps snapshot 1 and what it references
    const young = 'out/ds/copy/p-0000000000ff/1-young.avro';
    await put(young, 'written just now');
    const keyOf = (url: string) => parseS3Url(url).key;
    // Expected: what run 2 computed (b changed, d), heads 2 and 3 and their own part files, the
    // manifests of runs 2 and 3, and run 2's plan (run 3's is the plan of runs 4 and 5).
    const heads = await Promise.all([1, 2, 3, 4, 5].map((n) => readHead(s3, d, n)));
    const keptParts = new Set([heads[0], heads[3], heads[4]].flatMap((x) => x.parts!.map((p) => p.file)));
    const expected = [
      ...Object.values(runs[1].committed).flat().filter((p) => p.result === 'computed').flatMap((p) => [keyOf(p.output), keyOf(p.manifest)]),
      snapshotKey(d, 2), snapshotKey(d, 3),
      ...[heads[1], heads[2]].flatMap((x) => x.parts!.map((p) => p.file)).filter((f) => !keptParts.has(f)).map((f) => `out/ds/_snapshots/${f}`),
      keyOf(runs[1].manifest), keyOf(runs[2].manifest), keyOf(runs[1].plan),
    ];
    expect(runs[2].plan).toBe(heads[4].run.plan);
    const all = new Set(expected);
    expect(all.size).toBe(expected.length);
    expect(expected.filter((k) => k.includes('/copy/')).length).toBe(4);

    const dry = await cli('gc', DS, '--keep-snapshots', '2', '--grace', '0s', '--json');
    expect(dry.stderr).toBe('');
    const plan = JSON.parse(dry.stdout);
    expect(plan.kept).toEqual([1, 4, 5]);
    expect(plan.delete.map((x: { key: string }) => x.key).sort()).toEqual([...expected, young].sort());
    const before = (await listObjects(s3, BUCKET, 'out/ds/')).length;
    const text = await cli('gc', DS, '--keep-snapshots', '2', '--grace', '1d', '--yes');
    // Within a day of being superseded, snapshots 2 and 3 are kept too, with what they reference.
    expect(text.stdout).toMatch(/kept snapshots 1, 2, 3, 4, 5 \(2, 3 superseded or written less than 1d ago\); consumer cursors: es@5, slow@1, solr@5; 0 objects, 0 bytes deleted \(or already gone: another gc may have deleted some\); 1 unreferenced objects \(\d+ bytes\) younger than 1d kept/);
    expect((await listObjects(s3, BUCKET, 'out/ds/')).length).toBe(before);

    // With the clock just after the young object, a grace of a second: everything else is older.
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'out/ds/' }));
    const youngAt = listed.Contents!.find((o) => o.Key === young)!.LastModified!.getTime();
    const newestDoomed = Math.max(...listed.Contents!.filter((o) => all.has(o.Key!)).map((o) => o.LastModified!.getTime()));
    expect(newestDoomed).toBeLessThanOrEqual(youngAt - 1000); // the ingests ran seconds before
    const real = await planRetention(s3, d, { keepSnapshots: 2, graceMs: 1000, now: youngAt + 500 });
    expect(real.delete.map((x) => x.key).sort()).toEqual([...expected].sort());
    expect(real.young.count).toBe(1);
    expect(await applyRetention(s3, real)).toBe(expected.length);
    const left = new Set((await listObjects(s3, BUCKET, 'out/ds/')).map((o) => o.key));
    expect(left.size).toBe(before - expected.length);
    for (const k of expected) expect(left.has(k)).toBe(false);
    expect(left.has(young)).toBe(true);
    for (const k of ['out/ds/_consumers/slow.json', 'out/ds/_partflow.json']) expect(left.has(k)).toBe(true);
    expect((await listObjects(s3, BUCKET, 'feeds/')).map((o) => o.key)).toEqual(['feeds/a.jsonl', 'feeds/b.jsonl']);
    // What the kept snapshots reference is all there, and consumers still work.
    for (const n of [1, 4, 5]) for (const p of Object.values((await readSnapshot(s3, d, n)).stages).flat()) expect(await objectExists(s3, BUCKET, keyOf(p.output))).toBe(true);
    // With snapshots 2 and 3 gone, history still reports what each kept snapshot did, not a diff against snapshot 1.
    const hist = await partitionHistory(s3, DS, 'a.jsonl');
    expect(hist.filter((e) => e.result === 'snapshot' && e.stage === 'copy').map((e) => `${e.snapshot} ${e.change}`)).toEqual(['1 added']);
    expect((await datasetChanges(DS, { since: 1, s3 })).changes.map((c) => `${c.stage} ${c.change} ${c.partition.name}`)).toEqual(['copy changed a.jsonl', 'copy removed c.jsonl', 'raw changed a.jsonl', 'raw removed c.jsonl']);
    expect((await cli('gc', '--uploads', '--bucket', BUCKET, '--prefix', 'out/')).stdout).toBe('0 stale uploads would be aborted (dry run; --yes aborts)\n');
    await expect(planRetention(s3, datasetRef(`s3://${BUCKET}/out/nothing/`), { keepSnapshots: 1, graceMs: 0 })).rejects.toThrow(/has no snapshots, so nothing says what to keep/);
    // A cursor gc cannot read could be holding back a snapshot: gc stops and names it.
    await put('out/ds/_consumers/broken.json', '{"snapshot": 1');
    const refused = await cli('gc', DS, '--keep-snapshots', '1', '--grace', '0s', '--yes');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/consumer "broken"'s cursor s3:\/\/[^ ]+\/out\/ds\/_consumers\/broken\.json cannot be read: .* is not valid JSON: .*nothing was deleted/);
    expect((await listObjects(s3, BUCKET, 'out/ds/')).length).toBe(left.size + 1);
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'out/ds/_consumers/broken.json' }));
  });

  it('on a store without conditional writes the ingest ends without a snapshot and says why', async () => {
    process.env.PARTFLOW_CONDITIONAL_WRITES = 'off';
    try {
      const summary = (await h.client.workflow.execute('ingest', {
        taskQueue: h.cfg.taskQueue, workflowId: `snap-nocond-${process.pid}`, workflowExecutionTimeout: '3m',
        args: [{ pipeline: 'copy', source: `s3://${BUCKET}/feeds/`, target: `s3://${BUCKET}/nocond/`, dataset: 'ds', pack: false }],
      })) as IngestSummary;
      expect(summary.status).toBe('completed');
      expect(summary.snapshot).toBeUndefined();
      expect(summary.snapshotError).toMatch(/cannot commit a snapshot of s3:\/\/it-snapshots\/nocond\/ds\/: this S3 store does not honour create-only writes/);
      expect(await listObjects(s3, BUCKET, 'nocond/ds/_snapshots/')).toEqual([]);
    } finally {
      delete process.env.PARTFLOW_CONDITIONAL_WRITES;
    }
  });

  it('a partial run carries the last good output of a failed partition forward, and says so', async () => {
    const run = async (id: string) => (await h.client.workflow.execute('ingest', {
      taskQueue: h.cfg.taskQueue, workflowId: `${id}-${process.pid}`, workflowExecutionTimeout: '3m',
      args: [{ pipeline: 'poisonable', source: `s3://${BUCKET}/pfeeds/`, target: `s3://${BUCKET}/partial/`, dataset: 'ds', pack: false, waitForRetry: '0' }],
    })) as IngestSummary;
    await put('pfeeds/a.jsonl', '{"id": 1, "poison": false}\n');
    await put('pfeeds/b.jsonl', '{"id": 2, "poison": false}\n');
    expect((await run('snap-p1')).snapshot?.number).toBe(1);
    await put('pfeeds/b.jsonl', '{"id": 3, "poison": true}\n');
    const partial = await run('snap-p2');
    expect(partial.status).toBe('partial');
    const d = datasetRef(`s3://${BUCKET}/partial/ds/`);
    const [one, two] = [await readSnapshot(s3, d, 1), await readSnapshot(s3, d, 2)];
    expect(two).toMatchObject({ status: 'partial', counts: { copy: { partitions: 2, carriedForward: 1, missing: 0 } } });
    const b = two.stages.copy.find((p) => p.name === 'b.jsonl')!;
    expect(b).toEqual({ ...one.stages.copy.find((p) => p.name === 'b.jsonl'), carriedForward: true });
    expect(two.failed.copy).toEqual([{ partition: b.partition, name: 'b.jsonl', carriedForward: true }]);
    expect(two.changes.copy).toEqual({ added: [], changed: [], removed: [] });
    expect(two.changes.raw.changed).toEqual([b.partition]); // the import of the new bytes did commit
    const text = await cli('snapshots', `s3://${BUCKET}/partial/ds/`);
    expect(text.stdout).toMatch(/^2 +1 +\S+ +partial +snap-p2-\d+ +2 +raw 2, copy 2 +0 +1 +0 +1 +0$/m);
  });

  it("a superseded snapshot keeps its parent's failed entries, keeps and missing counts with its partitions", async () => {
    // The partial test's two runs: p1 read a and b; p2 failed b after b changed.
    const pd = datasetRef(`s3://${BUCKET}/partial/ds/`);
    const [p1, p2] = await Promise.all([1, 2].map(async (n) => getJson<RunManifest>(s3, (await readHead(s3, pd, n)).run.manifest)));
    const b = p2.failures.find((f) => f.stage === 'copy' && f.name === 'b.jsonl')!;
    // Make p2's b a new partition (a pack b joined) that never had an output, so that snapshot 2
    // keeps p1's b for it (`keeps`) and counts it missing: what the reported snapshot 35 held.
    const plan = await getJson<Plan>(s3, p2.plan);
    const X = 'p-00000000cafe';
    const planUrl = `s3://${BUCKET}/superseded/ds/_plans/joined.json`;
    await put(parseS3Url(planUrl).key, JSON.stringify({ ...plan, partitions: plan.partitions.map((q) => (q.id === b.partition ? { ...q, id: X, name: 'b.jsonl+2' } : q)) }));
    const joined: RunManifest = { ...p2, plan: planUrl, failures: [{ ...b, partition: X, name: 'b.jsonl+2' }] };

    const d = datasetRef(`s3://${BUCKET}/superseded/ds/`);
    await commitSnapshot(s3, d, as(p1, 'first', 0));
    expect(await commitSnapshot(s3, d, as(joined, 'newer', 10))).toMatchObject({ snapshot: 2, kept: { count: 1 } });
    const s2 = await readSnapshot(s3, d, 2);
    expect(s2.failed.copy).toEqual([{ partition: X, name: 'b.jsonl+2', carriedForward: false, keeps: [{ partition: b.partition, name: 'b.jsonl' }] }]);
    expect(s2.counts.copy).toMatchObject({ carriedForward: 1, missing: 1 });

    // p1 again, as a run that read the source before 'newer' and ended after it (it waited for a retry).
    const older = await commitSnapshot(s3, d, as(p1, 'older', 5));
    expect(older).toMatchObject({ snapshot: 3, supersededBy: { snapshot: 2, workflowId: 'newer' } });
    expect(older.kept).toBeUndefined(); // the parent run's, not this one's: ingest --wait does not print them
    const s3h = await readSnapshot(s3, d, 3);
    expect(s3h.stages).toEqual(s2.stages);
    // It holds the parent's partitions, so it says what the parent said of them: b's records are still missing.
    expect(s3h).toMatchObject({ status: 'partial', run: { workflowId: 'older', status: 'completed' }, failed: s2.failed, counts: s2.counts });
    // Every kept partition's successors are named among its failed partitions, as in the parent.
    const failedIds = new Set(Object.values(s3h.failed).flat().map((f) => f.partition));
    for (const q of Object.values(s3h.stages).flat()) for (const id of q.successors ?? []) expect(failedIds).toContain(id);
    // `partflow snapshots` agrees with the head: carried 1, missing 1 for both.
    const rows = (await cli('snapshots', `s3://${BUCKET}/superseded/ds/`)).stdout;
    expect(rows).toMatch(/^2 +1 +\S+ +partial +newer +2 +raw 2, copy 2 +0 +1 +0 +1 +1$/m);
    expect(rows).toMatch(/^3 +2 +\S+ +partial +older +2 +raw 2, copy 2 +0 +0 +0 +1 +1$/m);
  });
});
