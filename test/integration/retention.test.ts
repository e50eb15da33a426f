import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { commitCursor, datasetChanges, readCursor } from '../../src/snapshots/consume';
import { datasetRef, snapshotKey } from '../../src/snapshots/layout';
import { applyRetention, planRetention } from '../../src/snapshots/retention';
import type { SnapshotHead, SnapshotPartition } from '../../src/snapshots/types';
import { ensureBucket } from '../../src/stack/embedded';
import { createS3Client, s3Client } from '../../src/storage/client';
import { listObjects, objectExists } from '../../src/storage/objects';
import { runCli } from '../helpers/cli';
import { testConfig } from '../helpers/stack';

/**
 * gc against the real versitygw, on datasets written by hand (snapshot heads with chosen commit
 * times, outputs, run manifests): what it must never delete. No Temporal needed; the CLI cases
 * need `npm run build` (the CLI runs dist/).
 */
const BUCKET = 'it-retention';
const cfg = testConfig(`test-retention-${process.pid}`, BUCKET);
let s3: S3Client;
const cli = (...args: string[]) => runCli(cfg, ...args);
const put = (key: string, body: string) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
const DAY = 86_400_000;
/** A clock 30 days on: by it, every object these tests write is old. */
const far = () => Date.now() + 30 * DAY;
const url = (key: string) => `s3://${BUCKET}/${key}`;
const keys = async (prefix: string) => (await listObjects(s3, BUCKET, prefix)).map((o) => o.key);

/** An output and its manifest at `<prefix>copy/<partition>/<version>`; the snapshot entry for it. */
async function output(prefix: string, partition: string, version: string): Promise<SnapshotPartition> {
  const base = `${prefix}copy/${partition}/${version}`;
  await put(`${base}.avro`, `output ${version}`);
  await put(`${base}.json`, '{}');
  return {
    partition, name: `${partition}.jsonl`, output: url(`${base}.avro`), manifest: url(`${base}.json`), records: 1,
    counts: { in: 1, out: 1, rejected: 0, dropped: 0 } as SnapshotPartition['counts'], sha256: '0'.repeat(64),
    codeVersion: '1', contentVersion: version, workflowId: 'wf', runId: version,
  };
}

/** The run manifest and plan snapshot n names; returns the head to put. */
async function runFiles(prefix: string, n: number): Promise<SnapshotHead['run']> {
  await put(`${prefix}_runs/wf/r${n}.json`, '{}');
  await put(`${prefix}_plans/plan${n}.json`, '{}');
  return { workflowId: 'wf', runId: `r${n}`, pipeline: 'copy', manifest: url(`${prefix}_runs/wf/r${n}.json`), plan: url(`${prefix}_plans/plan${n}.json`), status: 'completed' };
}

async function putHead(prefix: string, n: number, committedAt: number, entries: SnapshotPartition[], run: SnapshotHead['run']): Promise<void> {
  const head: SnapshotHead = {
    kind: 'partflow.snapshot', version: 1, snapshot: n, parent: n - 1, committedAt: new Date(committedAt).toISOString(), dataset: 'ds',
    datasetUrl: url(prefix), status: 'completed', run, counts: {}, changes: {}, failed: {}, stages: { copy: entries },
  };
  await put(snapshotKey(datasetRef(url(prefix)), n), JSON.stringify(head));
}

/** A dataset with snapshots 1..k, snapshot i holding the one output p-00000000000i/v<i>, committed at times[i-1]. */
async function dataset(prefix: string, times: number[]): Promise<SnapshotPartition[]> {
  await put(`${prefix}_partflow.json`, '{"kind":"partflow.dataset"}');
  const outs: SnapshotPartition[] = [];
  for (const [i, at] of times.entries()) {
    const o = await output(prefix, `p-${String(i + 1).padStart(12, '0')}`, `v${i + 1}`);
    outs.push(o);
    await putHead(prefix, i + 1, at, [o], await runFiles(prefix, i + 1));
  }
  return outs;
}

const key = (u: string) => u.slice(`s3://${BUCKET}/`.length);

beforeAll(async () => {
  s3 = s3Client(cfg.s3);
  await ensureBucket(s3, BUCKET);
});

describe('gc keeps what readers still need', () => {
  it('leaves a dataset nested inside the one it collects alone', async () => {
    const outs = await dataset('nest/shop/', [Date.now() - 30 * DAY, Date.now() - 20 * DAY]);
    await dataset('nest/shop/inner/', [Date.now() - 30 * DAY]);
    const inner = await keys('nest/shop/inner/');
    expect(inner.filter((k) => k.includes('/copy/'))).toHaveLength(2);
    const plan = await planRetention(s3, url('nest/shop/'), { keepSnapshots: 1, graceMs: DAY, now: far() });
    expect(plan.delete.map((x) => x.key).sort()).toEqual(['nest/shop/_plans/plan1.json', 'nest/shop/_runs/wf/r1.json', key(outs[0].manifest), key(outs[0].output), 'nest/shop/_snapshots/00000001.json'].sort());
    expect(plan.nested).toEqual([url('nest/shop/inner/')]);
    const r = await cli('gc', url('nest/shop/'), '--keep-snapshots', '1', '--grace', '0s', '--yes');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`${url('nest/shop/inner/')} is another dataset (it has its own _partflow.json): left alone`);
    expect(r.stdout).toContain('5 objects, ');
    expect(r.stdout).toContain(' deleted (or already gone: another gc may have deleted some)');
    expect(await keys('nest/shop/inner/')).toEqual(inner);
    expect(await objectExists(s3, BUCKET, key(outs[0].output))).toBe(false);
    expect(await objectExists(s3, BUCKET, key(outs[1].output))).toBe(true);
  });

  it('a snapshot file kept because it is young keeps everything it references', async () => {
    const prefix = 'young/ds/';
    await put(`${prefix}_partflow.json`, '{}');
    const outs = [await output(prefix, 'p-000000000001', 'v1'), await output(prefix, 'p-000000000002', 'v2'), await output(prefix, 'p-000000000003', 'v3')];
    const runs = [await runFiles(prefix, 1), await runFiles(prefix, 2), await runFiles(prefix, 3)];
    await new Promise((r) => setTimeout(r, 3000));
    // Committed long ago by their own account: only their files' age keeps them.
    for (const n of [1, 2, 3]) await putHead(prefix, n, Date.parse('2020-01-01T00:00:00Z'), [outs[n - 1]], runs[n - 1]);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${prefix}_snapshots/` }));
    const now = Math.max(...listed.Contents!.map((o) => o.LastModified!.getTime())) + 500;
    const plan = await planRetention(s3, url(prefix), { keepSnapshots: 1, graceMs: 2000, now });
    expect(plan.delete).toEqual([]);
    expect(plan.kept).toEqual([1, 2, 3]);
    expect(plan.recent).toEqual([1, 2]);
  });

  it('a snapshot superseded less than --grace ago is kept with its outputs, however old they are', async () => {
    const prefix = 'grace/ds/';
    const now = far();
    const outs = await dataset(prefix, [now - 30 * DAY, now - 20 * DAY, now - 3_600_000]);
    const plan = await planRetention(s3, url(prefix), { keepSnapshots: 1, graceMs: 7 * DAY, now });
    expect(plan.delete.map((x) => x.key)).toContain(snapshotKey(datasetRef(url(prefix)), 1));
    expect(plan.delete.map((x) => x.key)).toContain(key(outs[0].output));
    expect(plan.delete.map((x) => x.key)).not.toContain(key(outs[1].output));
    expect([plan.kept, plan.recent]).toEqual([[2, 3], [2]]);
    await applyRetention(s3, plan);
    // A consumer that began with snapshot 2 while it was the latest can still read and commit it.
    const c = await datasetChanges(url(prefix), { since: 0, to: 2, s3 });
    expect(c.changes.map((x) => x.partition.output)).toEqual([outs[1].output]);
    expect(await objectExists(s3, BUCKET, key(outs[1].output))).toBe(true);
    await commitCursor(s3, url(prefix), 'indexer', 2);
  });

  it('a cursor committed after gc planned keeps its snapshot and what it references', async () => {
    const prefix = 'race/ds/';
    const outs = await dataset(prefix, [Date.now() - 30 * DAY, Date.now() - 20 * DAY, Date.now() - 10 * DAY]);
    const plan = await planRetention(s3, url(prefix), { keepSnapshots: 1, graceMs: DAY, now: far() });
    expect(plan.kept).toEqual([3]);
    await commitCursor(s3, url(prefix), 'late', 2);
    const spared: string[] = [];
    await applyRetention(s3, plan, undefined, (c) => spared.push(`${c.consumer}@${c.snapshot}`));
    const left = new Set(await keys(prefix));
    for (const k of [snapshotKey(datasetRef(url(prefix)), 2), key(outs[1].output), key(outs[1].manifest), `${prefix}_runs/wf/r2.json`, `${prefix}_plans/plan2.json`]) expect([k, left.has(k)]).toEqual([k, true]);
    for (const k of [snapshotKey(datasetRef(url(prefix)), 1), key(outs[0].output)]) expect([k, left.has(k)]).toEqual([k, false]);
    expect(spared).toEqual(['late@2']);
  });

  it('two commits of one cursor racing: the one that would move it back is refused, not written over the other', async () => {
    const prefix = 'cursor/ds/';
    await dataset(prefix, [1, 2, 3, 4, 5].map((k) => Date.now() - (10 - k) * DAY));
    await commitCursor(s3, url(prefix), 'idx', 1);
    // A client whose first PUT of the cursor lets another commit (to 5) land first, between its read and its write.
    const slow = createS3Client(cfg.s3);
    let raced = false;
    slow.middlewareStack.add((next) => async (args) => {
      const input = args.input as { Key?: string; Body?: unknown };
      if (!raced && input.Key === `${prefix}_consumers/idx.json` && input.Body !== undefined) {
        raced = true;
        await commitCursor(s3, url(prefix), 'idx', 5);
      }
      return next(args);
    }, { step: 'initialize', name: 'raceCursor' });
    await expect(commitCursor(slow, url(prefix), 'idx', 3)).rejects.toThrow(/consumer "idx" of .* is at snapshot 5; committing 3 would move its cursor back/);
    expect(raced).toBe(true);
    expect((await readCursor(s3, url(prefix), 'idx'))?.snapshot).toBe(5);
    // Racing forward, the later commit re-reads and still goes through.
    raced = false;
    await put(`${prefix}_consumers/fwd.json`, JSON.stringify({ kind: 'partflow.consumer', consumer: 'fwd', snapshot: 1, committedAt: new Date().toISOString() }));
    slow.middlewareStack.remove('raceCursor');
    slow.middlewareStack.add((next) => async (args) => {
      const input = args.input as { Key?: string; Body?: unknown };
      if (!raced && input.Key === `${prefix}_consumers/fwd.json` && input.Body !== undefined) {
        raced = true;
        await commitCursor(s3, url(prefix), 'fwd', 2);
      }
      return next(args);
    }, { step: 'initialize', name: 'raceForward' });
    await commitCursor(slow, url(prefix), 'fwd', 4);
    expect([raced, (await readCursor(s3, url(prefix), 'fwd'))?.snapshot]).toEqual([true, 4]);
  });

  it('deletes the window results of a run with a run manifest, and of a run without one only once they are abandoned', async () => {
    const prefix = 'windows/ds/';
    await dataset(prefix, [Date.now() - 30 * DAY, Date.now() - 20 * DAY]);
    const w = (run: string, n: number) => `${prefix}_windows/wf/${run}/${String(n).padStart(6, '0')}.json`;
    const body = '{"kind":"partflow.window","entries":[]}';
    // r1 and r2 have run manifests (r2's kept by snapshot 2); "live" has none: it may be waiting for a retry.
    for (const k of [w('r1', 1), w('r1', 2), w('r2', 1), w('live', 1)]) await put(k, body);
    // Not window results: left alone.
    const foreign = [`${prefix}_windows/wf/live/notes.txt`, `${prefix}_windows/stray.json`];
    for (const k of foreign) await put(k, body);
    const plan = await planRetention(s3, url(prefix), { keepSnapshots: 1, graceMs: DAY, now: far() });
    expect(plan.delete.filter((x) => x.category === 'window-result').map((x) => x.key)).toEqual([w('r1', 1), w('r1', 2), w('r2', 1)]);
    expect(plan.windows).toEqual({ runs: 1, count: 1, bytes: body.length });
    expect((await planRetention(s3, url(prefix), { keepSnapshots: 1, graceMs: DAY, now: far(), abandonedMs: 29 * DAY })).delete.map((x) => x.key)).toContain(w('live', 1));

    const gc = await cli('gc', url(prefix), '--keep-snapshots', '1', '--grace', '0s', '--yes');
    expect(gc.code).toBe(0);
    expect(gc.stdout).toContain(`; 1 window results (${body.length} bytes) of 1 runs without a run manifest (or with one younger than 0ms) kept`);
    const deleted = gc.stdout.split('\n').filter((l) => l.startsWith('deleted '));
    // What names an object goes before it: window results before the run manifests, those before partition manifests, those before outputs.
    const last = (cat: string) => deleted.map((l) => l.includes(`, ${cat}, `)).lastIndexOf(true);
    const first = (cat: string) => deleted.findIndex((l) => l.includes(`, ${cat}, `));
    expect([last('snapshot') < first('window-result'), last('window-result') < first('run-manifest'), last('run-manifest') < first('partition-manifest'), last('partition-manifest') < first('output'), last('output') < first('plan')]).toEqual([true, true, true, true, true]);
    expect((await keys(`${prefix}_windows/`)).sort()).toEqual([w('live', 1), ...foreign].sort());

    const abandoned = await cli('gc', url(prefix), '--keep-snapshots', '1', '--grace', '0s', '--abandoned-after', '0s', '--yes');
    expect(abandoned.code).toBe(0);
    expect(abandoned.stdout).toContain(`deleted ${url(w('live', 1))} (${body.length} bytes, window-result, `);
    expect((await keys(`${prefix}_windows/`)).sort()).toEqual(foreign.sort());
    expect((await cli('gc', '--help')).stdout).toMatch(/--abandoned-after <duration>[\s\S]*\(default: 731d\)/);
  });

  it('a cursor at a snapshot that does not exist is named by gc, and by changes with the way out', async () => {
    const prefix = 'missing/ds/';
    await dataset(prefix, [Date.now() - 2 * DAY, Date.now() - DAY]);
    await put(`${prefix}_consumers/lost.json`, JSON.stringify({ kind: 'partflow.consumer', consumer: 'lost', snapshot: 99, committedAt: new Date().toISOString() }));
    const plan = await planRetention(s3, url(prefix), { keepSnapshots: 1, graceMs: DAY, now: far() });
    expect(plan.cursors).toEqual([{ consumer: 'lost', snapshot: 99, missing: true }]);
    const gc = await cli('gc', url(prefix), '--keep-snapshots', '1');
    expect(gc.code).toBe(0);
    expect(gc.stderr).toContain(`warning: consumer "lost"'s cursor points at snapshot 99, which ${url(prefix)} does not have`);
    expect(gc.stdout).toContain('consumer cursors: lost@99 (no such snapshot)');
    const changes = await cli('changes', url(prefix), '--consumer', 'lost');
    expect(changes.code).not.toBe(0);
    expect(changes.stderr).toContain(`consumer "lost"'s cursor (${url(`${prefix}_consumers/lost.json`)}) points at snapshot 99 of ${url(prefix)}, which does not exist`);
    expect(changes.stderr).toContain(`partflow changes ${url(prefix)} --consumer lost --commit 0 --rewind`);
    expect(changes.stderr).toContain("which does not exist (the dataset's snapshots are 1 and 2;");
  });
});
