import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Type } from 'avsc';
import path from 'node:path';
import { printSummary } from '../../src/cli/print';
import { IngestSummary } from '../../src/manifest/run';
import { PipelineDefinition } from '../../src/pipeline/types';
import { builtinPipelines } from '../../src/pipelines';
import { ExportManifest } from '../../src/snapshots/export';
import { datasetRef } from '../../src/snapshots/layout';
import { referencesOf } from '../../src/snapshots/retention-refs';
import { readSnapshot } from '../../src/snapshots/store';
import { s3Client } from '../../src/storage/client';
import { parseS3Url } from '../../src/storage/s3url';
import { encodeFile } from '../helpers/avro';
import { runCli } from '../helpers/cli';
import { executeWithin } from '../helpers/pending';
import { runOf } from '../helpers/runs';
import { decodeUrl, getJson } from '../helpers/s3';
import { startHarness, TestHarness } from '../helpers/stack';

/**
 * Small Avro objects are packed into one partition whose id hashes their keys. A new object that
 * joins a published pack makes a new partition of all of them; when that one fails (the new
 * object has a field of the wrong type), the snapshot keeps the old pack's output rather than
 * remove records whose objects did not change, and a later run that succeeds replaces it.
 */
const BUCKET = 'it-pack-carry';
const DS = `s3://${BUCKET}/out/ev2/`;
const schemasDir = path.join(__dirname, '../fixtures/schemas');

const event = (qty: string) => Type.forSchema({
  type: 'record', name: 'Event', namespace: 'ev',
  fields: [{ name: 'id', type: 'long' }, { name: 'name', type: 'string' }, { name: 'qty', type: qty }, ...(qty === 'long' ? [{ name: 'score', type: 'double', default: 1.5 }] : [])],
});
const A_NEW = encodeFile(event('long'), [{ id: 3, name: 'c', qty: 3, score: 9.5 }, { id: 4, name: 'd', qty: 4000, score: 0.25 }]);
const B_OLD = encodeFile(event('int'), [{ id: 1, name: 'a', qty: 1 }, { id: 2, name: 'b', qty: 2 }]);
const C_BAD = encodeFile(event('string'), [{ id: 5, name: 'e', qty: 'many' }]);
const C_FIXED = encodeFile(event('long'), [{ id: 5, name: 'e', qty: 5, score: 2 }]);

// Reads the sources with a reader schema of its own: qty a long.
const withInput: PipelineDefinition = {
  name: 'evin', schemasDir, input: 'ev@1',
  stages: [{ name: 'tag', schema: 'ev@1', version: '1', transform: (r: unknown) => r }],
};

let h: TestHarness;
let s3: S3Client;
const cli = (...args: string[]) => runCli(h.cfg, ...args);
const put = (key: string, body: Buffer) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));

function ingest(id: string, opts: { pipeline?: string; prefix?: string; dataset?: string } = {}): Promise<IngestSummary> {
  return executeWithin<IngestSummary>(h.client, 'ingest', {
    taskQueue: h.cfg.taskQueue, workflowId: `${id}-${process.pid}`,
    args: [{ pipeline: opts.pipeline ?? 'copy', source: `s3://${BUCKET}/${opts.prefix ?? 'incoming/ev2/'}`, target: `s3://${BUCKET}/out/`, dataset: opts.dataset ?? 'ev2', waitForRetry: '0' }],
  }, 120_000);
}

function printed(s: IngestSummary): string {
  let text = '';
  printSummary(s, { write: (t: string) => { text += t; return true; } } as unknown as typeof process.stdout);
  return text;
}

const changesOf = async (from: string, to: string) => JSON.parse((await cli('diff', DS, from, to, '--json')).stdout).changes.map((c: { stage: string; change: string; name: string }) => `${c.stage} ${c.change} ${c.name}`);

beforeAll(async () => {
  h = await startHarness('pack-carry', [...builtinPipelines, withInput], { bucket: BUCKET });
  s3 = s3Client(h.cfg.s3);
});

afterAll(async () => {
  await h?.stop();
});

describe('a pack that takes in an object that fails', () => {
  it('keeps the old pack in the snapshot while the new one fails, and a run that succeeds replaces it without holding a record twice', async () => {
    await put('incoming/ev2/a-new.avro', A_NEW);
    await put('incoming/ev2/b-old.avro', B_OLD);
    const first = await ingest('carry-1');
    expect(first.status).toBe('completed');
    const run1 = await runOf(s3, first);
    expect(run1.committed.copy.map((p) => p.name)).toEqual(['a-new.avro+1']);
    const old = run1.committed.copy[0];
    const s1 = await readSnapshot(s3, datasetRef(DS), 1);
    expect(s1.counts.copy).toMatchObject({ partitions: 1, records: 4 });

    // The bad object joins the pack: a new partition of three objects, which fails as a whole.
    await put('incoming/ev2/c-bad.avro', C_BAD);
    const second = await ingest('carry-2');
    expect(second.status).toBe('partial');
    const failure = second.stages.copy.failures[0];
    expect(failure).toMatchObject({ name: 'a-new.avro+2' });
    expect(failure.error).toMatch(/c-bad\.avro cannot be read with the expected schema/);
    // What a consumer reads: nothing to delete.
    expect(await changesOf('1', '2')).toEqual([]);
    const since = JSON.parse((await cli('changes', DS, '--since', '1', '--json')).stdout);
    expect(since.changes).toEqual([]);
    const exp = JSON.parse((await cli('export', DS, '--stage', 'copy', '--since', '1', '--to', `s3://${BUCKET}/exports/`, '--json')).stdout) as ExportManifest;
    expect(exp).toMatchObject({ from: 1, to: 2, removed: [], partitions: [] });
    const s2 = await readSnapshot(s3, datasetRef(DS), 2);
    expect(s2.status).toBe('partial');
    expect(s2.stages.copy).toEqual([expect.objectContaining({ partition: old.partition, output: old.output, records: 4, carriedForward: true, successors: [failure.partition], plannedIn: run1.plan })]);
    expect(s2.counts.copy).toEqual({ partitions: 1, records: 4, carriedForward: 1, missing: 1 });
    expect(s2.changes.copy).toEqual({ added: [], changed: [], removed: [] });
    expect(s2.failed.copy).toEqual([{ partition: failure.partition, name: 'a-new.avro+2', carriedForward: false, keeps: [{ partition: old.partition, name: 'a-new.avro+1' }] }]);
    const table = (await cli('snapshots', DS)).stdout.trim().split('\n');
    expect(table[0]).toMatch(/carried\s+missing$/);
    expect(table[2]).toMatch(/^2\s+1\s.*\bpartial\b.*\s1\s+1$/);

    // The run's summary says so.
    expect(second.snapshot).toMatchObject({
      number: 2, kept: { count: 1, first: [{ stage: 'copy', partition: old.partition, name: 'a-new.avro+1', failed: [{ partition: failure.partition, name: 'a-new.avro+2' }] }] },
    });
    expect(printed(second)).toContain(`  carried forward: 1 partition this run no longer plans, whose source objects now go to partitions that failed:\n`
      + `           snapshot 2 keeps their last good output until those succeed\n`
      + `           copy a-new.avro+1 (${old.partition}), for a-new.avro+2 (${failure.partition})\n`);

    // Still bad: the next run keeps it again, its objects looked up in the plan that listed them.
    const third = await ingest('carry-3');
    expect(third.snapshot).toMatchObject({ number: 3, kept: { count: 1 } });
    const s3h = await readSnapshot(s3, datasetRef(DS), 3);
    expect(s3h.stages.copy).toEqual([expect.objectContaining({ partition: old.partition, output: old.output, carriedForward: true, plannedIn: run1.plan })]);
    // gc keeps that plan while a snapshot keeps the partition.
    expect((await referencesOf(s3, datasetRef(DS), 3)).keys).toContain(parseS3Url(run1.plan).key);

    // Fixed: the new pack succeeds and replaces the old one; every record once.
    await put('incoming/ev2/c-bad.avro', C_FIXED);
    const fourth = await ingest('carry-4');
    expect(fourth.status).toBe('completed');
    expect(fourth.snapshot?.kept).toBeUndefined();
    const s4 = await readSnapshot(s3, datasetRef(DS), 4);
    expect(s4.stages.copy.map((p) => [p.name, p.records, !!p.carriedForward])).toEqual([['a-new.avro+2', 5, false]]);
    expect(await changesOf('3', '4')).toEqual(['copy removed a-new.avro+1', 'copy added a-new.avro+2']);
    const ids = (await decodeUrl(s3, s4.stages.copy[0].output)).map((r) => Number((r as { id: number }).id));
    expect(ids.sort()).toEqual([1, 2, 3, 4, 5]);
    expect(await getJson(s3, `s3://${BUCKET}/exports/ev2/copy/00000001-00000002/removed.json`)).toEqual({ partitions: [] });
  });

  it("an input schema's failure for one object of a pack says it fails the others and that --no-pack isolates it", async () => {
    await put('incoming/evin/a-new.avro', A_NEW);
    await put('incoming/evin/b-old.avro', B_OLD);
    await put('incoming/evin/c-bad.avro', C_BAD);
    const r = await ingest('carry-input', { pipeline: 'evin', prefix: 'incoming/evin/', dataset: 'evin' });
    expect(r.status).toBe('partial');
    const err = r.stages.tag.failures[0].error;
    expect(err).toMatch(new RegExp(`^stage "tag" partition p-[0-9a-f]{12} \\(a-new\\.avro\\+2\\): input s3://${BUCKET}/incoming/evin/c-bad\\.avro cannot be read with the expected schema\\. `
      + 'It is one of 3 source objects packed into this partition, which all fail with it: ingest with --no-pack \\("pack": false\\) to give each object its own partition, '
      + 'so that only this one fails, or remove or fix it and start a new ingest\\. Why it cannot be read: field qty: '));
  });
});
