import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { gzipSync } from 'node:zlib';
import { IngestSummary } from '../../src/manifest/run';
import { builtinPipelines } from '../../src/pipelines';
import { exportChanges, ExportManifest } from '../../src/snapshots/export';
import type { SnapshotHead, SnapshotPartition } from '../../src/snapshots/types';
import { s3Client } from '../../src/storage/client';
import { listObjects } from '../../src/storage/objects';
import { parseS3Url } from '../../src/storage/s3url';
import { partitionHistory } from '../../src/tools/history';
import { runCli } from '../helpers/cli';
import { Fault, faultyS3, s3Error } from '../helpers/faulty-s3';
import { getUrl } from '../helpers/s3';
import { startHarness, TestHarness } from '../helpers/stack';

/**
 * What export and verify check before trusting a folder or a snapshot file: a --partition-field
 * the records already have, a folder holding files no earlier attempt wrote, a snapshot file
 * edited by hand (its number, an entry's SHA-256, records or URL).
 */
const BUCKET = 'it-snapchecks';
const DS = `s3://${BUCKET}/out/ds/`;
const HEAD2 = 'out/ds/_snapshots/00000002.json';
let h: TestHarness;
let s3: S3Client;
const cli = (...args: string[]) => runCli(h.cfg, ...args);
const put = (key: string, body: string | Buffer) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
const lines = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ id: i, name: `${prefix} ${i}` })).join('\n') + '\n';
const keys = async (prefix: string) => (await listObjects(s3, BUCKET, prefix)).map((o) => o.key.slice(prefix.length)).sort();

async function ingest(id: string): Promise<void> {
  const summary = (await h.client.workflow.execute('ingest', {
    taskQueue: h.cfg.taskQueue, workflowId: `${id}-${process.pid}`, workflowExecutionTimeout: '3m',
    args: [{ pipeline: 'copy', source: `s3://${BUCKET}/feeds/`, target: `s3://${BUCKET}/out/`, dataset: 'ds', pack: false }],
  })) as IngestSummary;
  expect(summary.snapshot?.number).toBeDefined();
}

let head2: string;
let a: SnapshotPartition;
/** Puts snapshot 2 back with its copy entry for a.jsonl changed, runs `body`, and restores it. */
async function withEntry(change: Partial<SnapshotPartition>, body: () => Promise<void>): Promise<void> {
  const head = JSON.parse(head2) as SnapshotHead;
  head.stages!.copy = head.stages!.copy.map((p) => (p.partition === a.partition ? { ...p, ...change } : p));
  await put(HEAD2, JSON.stringify(head));
  try {
    await body();
  } finally {
    await put(HEAD2, head2);
  }
}

beforeAll(async () => {
  h = await startHarness('snapchecks', builtinPipelines, { bucket: BUCKET });
  s3 = s3Client(h.cfg.s3);
  await put('feeds/a.jsonl', lines('a', 3));
  await put('feeds/b.jsonl', lines('b', 2));
  await put('feeds/c.jsonl', lines('c', 2));
  await ingest('chk-1');
  await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'feeds/c.jsonl' }));
  await ingest('chk-2');
  head2 = (await getUrl(s3, `s3://${BUCKET}/${HEAD2}`)).toString('utf8');
  a = (JSON.parse(head2) as SnapshotHead).stages!.copy.find((p) => p.name === 'a.jsonl')!;
});

afterAll(async () => {
  await h?.stop();
});

describe('export checks', () => {
  it('refuses a --partition-field the records already have, naming it, before writing anything', async () => {
    const r = await cli('export', DS, '--stage', 'copy', '--since', '0', '--partition-field', 'id', '--to', `s3://${BUCKET}/exp-field/`);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--partition-field id: the records of stage copy already have a field "id"');
    expect(await keys('exp-field/')).toEqual([]);
  });

  it('refuses a folder that holds objects but no started marker, naming what is there', async () => {
    const folder = `s3://${BUCKET}/exp-junk/ds/copy/00000000-00000002/`;
    await put(`exp-junk/ds/copy/00000000-00000002/partitions/${a.partition}.jsonl.gz`, 'junk\n');
    const r = await cli('export', DS, '--stage', 'copy', '--since', '0', '--to', `s3://${BUCKET}/exp-junk/`);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${folder} already holds 1 object(s) (partitions/${a.partition}.jsonl.gz) but no _export.started.json`);
    expect(await keys('exp-junk/')).toEqual([`ds/copy/00000000-00000002/partitions/${a.partition}.jsonl.gz`]);
  });

  it('resumes keeping the files an earlier attempt wrote, and refuses one that holds something else', async () => {
    const dir = 'exp-resume/ds/copy/00000000-00000002/';
    const exp = () => cli('export', DS, '--stage', 'copy', '--since', '0', '--to', `s3://${BUCKET}/exp-resume/`, '--json');
    const first = await exp();
    expect(first.code).toBe(0);
    const m = JSON.parse(first.stdout) as ExportManifest;
    // Interrupted after every file but the manifest: the files are its own, so it finishes.
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `${dir}_export.json` }));
    const resumed = await exp();
    expect(resumed.code).toBe(0);
    expect({ ...(JSON.parse(resumed.stdout) as ExportManifest), exportedAt: m.exportedAt }).toEqual(m);
    // A file replaced since (other records; not gzip at all) is not taken for this export's.
    const file = `s3://${BUCKET}/${dir}partitions/${a.partition}.jsonl.gz`;
    for (const body of [gzipSync('{"id":1}\n'), Buffer.from('junk\n')]) {
      await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `${dir}_export.json` }));
      await put(`${dir}partitions/${a.partition}.jsonl.gz`, body);
      const r = await exp();
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${file} is already there and does not hold what this export writes for partition ${a.partition} (a.jsonl) of stage copy`);
      expect(await keys(dir)).not.toContain('_export.json');
    }
  });

  it("refuses an entry whose output's SHA-256 is not the snapshot's, writing no file for it", async () => {
    await withEntry({ sha256: '0'.repeat(64) }, async () => {
      const r = await cli('export', DS, '--stage', 'copy', '--since', '0', '--to', `s3://${BUCKET}/exp-sha/`);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`partition ${a.partition} (a.jsonl) of stage copy: ${a.output} has SHA-256 ${a.sha256}, its snapshot entry says ${'0'.repeat(64)}`);
      expect((await keys('exp-sha/')).filter((k) => k.includes(a.partition))).toEqual([]);
    });
  });

  it("refuses an entry pointing at another dataset's object, before writing anything", async () => {
    const elsewhere = `s3://${BUCKET}/elsewhere/ds/copy/${a.partition}/x.avro`;
    await put(parseS3Url(elsewhere).key, await getUrl(s3, a.output));
    await withEntry({ output: elsewhere }, async () => {
      const r = await cli('export', DS, '--stage', 'copy', '--since', '0', '--to', `s3://${BUCKET}/exp-outside/`);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`snapshot 2 of ${DS}, stage copy, partition ${a.partition} (a.jsonl): its output "${elsewhere}" is not inside the dataset folder ${DS}`);
      expect(await keys('exp-outside/')).toEqual([]);
    });
  });
});

describe('snapshot files checked by readers and verify', () => {
  it('a head whose body names another number is refused by snapshots and diff, naming the object', async () => {
    await put(HEAD2, JSON.stringify({ ...JSON.parse(head2), snapshot: 5 }));
    try {
      for (const args of [['snapshots', DS], ['diff', DS, '1', '2']]) {
        const r = await cli(...args);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`${DS}_snapshots/00000002.json says it is snapshot 5, but its key is that of snapshot 2`);
      }
    } finally {
      await put(HEAD2, head2);
    }
  });

  it('verifies a snapshot given by its URL, and says what to pass for a part file', async () => {
    const r = await cli('verify', `${DS}_snapshots/00000002.json`);
    expect(r).toMatchObject({ code: 0, stdout: 'verified 4 entries of snapshot 2: all good\n' });
    const part = await cli('verify', `${DS}_snapshots/parts/${'a'.repeat(64)}.json`);
    expect(part.code).toBe(1);
    expect(part.stderr).toContain(`is a part file of a snapshot (it holds some of a large snapshot's entries): verify the snapshot head that lists it (${DS}_snapshots/<8 digits>.json) or the dataset, ${DS}`);
  });

  it("verify of a dataset checks the latest snapshot's entries against their manifests", async () => {
    const ok = await cli('verify', DS);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^verified \d+ partitions and the 4 entries of snapshot 2: all good\n$/);
    await withEntry({ records: 9999 }, async () => {
      for (const target of [DS, `${DS}_snapshots/00000002.json`]) {
        const r = await cli('verify', target);
        expect(r.code).toBe(1);
        expect(r.stdout).toContain(`PROBLEM snapshot 2, stage copy, partition ${a.partition} (a.jsonl): 9999 records, but its manifest ${a.manifest} says 3\n`);
      }
    });
  });
});

describe('reads that fail are not taken for missing objects', () => {
  let fault: Fault | undefined;
  let faulty: S3Client;
  const denied = () => Promise.reject(s3Error('AccessDenied', 'Access Denied', 403));
  const gone = () => Promise.reject(s3Error('NoSuchKey', 'The specified key does not exist.', 404));
  const getOf = (cmd: unknown, key: RegExp) => cmd instanceof GetObjectCommand && key.test(cmd.input.Key ?? '');
  beforeAll(() => {
    faulty = faultyS3(h.cfg.s3, () => fault);
  });
  afterAll(() => faulty.destroy());
  afterEach(() => {
    fault = undefined;
  });

  it("history fails naming a snapshot's plan it could not read, and goes on without one that is gone", async () => {
    // ds's snapshots under another prefix, with none of its run manifests: the snapshots' plans
    // are all that can match a source key to the partition.
    const OTHER = `s3://${BUCKET}/hist/ds/`;
    for (const o of await listObjects(s3, BUCKET, 'out/ds/_snapshots/')) {
      await put(`hist/ds/_snapshots/${o.key.slice('out/ds/_snapshots/'.length)}`, await getUrl(s3, `s3://${BUCKET}/${o.key}`));
    }
    const changes = async () => (await partitionHistory(faulty, OTHER, 'feeds/c.jsonl')).filter((e) => e.stage === 'copy').map((e) => `${e.snapshot} ${e.change}`);
    // Plans are read once per process: the failures come first.
    fault = (cmd) => (getOf(cmd, /\/_plans\//) ? denied() : undefined);
    await expect(changes()).rejects.toThrow(new RegExp(`^could not read the plan of snapshot 1 of ${OTHER}, s3://${BUCKET}/out/ds/_plans/\\S+: Access Denied$`));
    // A plan retention deleted: the key matches nothing, as it would by name alone.
    fault = (cmd) => (getOf(cmd, /\/_plans\//) ? gone() : undefined);
    expect(await changes()).toEqual([]);
    fault = undefined;
    expect(await changes()).toEqual(['1 added', '2 removed']);
  });

  it('export fails naming removed.json it could not read back, instead of calling it a different list', async () => {
    const to = `s3://${BUCKET}/exp-denied/`;
    const dir = 'exp-denied/ds/copy/00000000-00000002/';
    await exportChanges(faulty, DS, { stage: 'copy', since: 0, target: to });
    // Interrupted before its manifest: resuming reads removed.json back to compare it.
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `${dir}_export.json` }));
    fault = (cmd) => (getOf(cmd, /removed\.json$/) ? denied() : undefined);
    await expect(exportChanges(faulty, DS, { stage: 'copy', since: 0, target: to }))
      .rejects.toThrow(`could not read s3://${BUCKET}/${dir}removed.json, which is already there: Access Denied`);
    fault = undefined;
    expect((await exportChanges(faulty, DS, { stage: 'copy', since: 0, target: to })).manifest.stage).toBe('copy');
  });
});
