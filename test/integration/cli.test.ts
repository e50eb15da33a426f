import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { builtinPipelines } from '../../src/pipelines';
import { s3Client } from '../../src/storage/client';
import { decodeUrl, getUrl } from '../helpers/s3';
import { startHarness, TestHarness } from '../helpers/stack';
import { runCli, runCliWith } from '../helpers/cli';
import { noWorkerPolling } from '../../src/client';

const BUCKET = 'it-cli';
let h: TestHarness;
let s3: S3Client;
let dir: string;
// Sources a test writes for itself, kept apart from `dir`, which other tests import whole.
let scratch: string;

const cli = (...args: string[]) => runCli(h.cfg, ...args);

beforeAll(async () => {
  h = await startHarness('cli', builtinPipelines, { bucket: BUCKET });
  s3 = s3Client(h.cfg.s3);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-cli-'));
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-cli-scratch-'));
  fs.writeFileSync(path.join(dir, 'a.csv'), 'id,name,score\n1,ann,1.5\n2,bob,x\n3,cy,2\n4,dee,\n5,"unclosed\n');
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'ignored: not a known format');
});

afterAll(async () => {
  await h?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(scratch, { recursive: true, force: true });
});

describe('partflow upload', () => {
  it('copies a folder under a prefix with relative paths, and a file to a key, byte for byte', async () => {
    const up = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-upload-'));
    fs.mkdirSync(path.join(up, 'sub'));
    fs.writeFileSync(path.join(up, 'a.csv'), 'id\n1\n');
    fs.writeFileSync(path.join(up, 'sub', 'b.jsonl'), '{"id":2}\n');
    fs.writeFileSync(path.join(up, '.DS_Store'), 'junk');
    const r = await cli('upload', up, `s3://${BUCKET}/uploaded/feed`);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/uploaded 2 file\(s\), 14 bytes, to http/);
    expect((await getUrl(s3, `s3://${BUCKET}/uploaded/feed/a.csv`)).toString()).toBe('id\n1\n');
    expect((await getUrl(s3, `s3://${BUCKET}/uploaded/feed/sub/b.jsonl`)).toString()).toBe('{"id":2}\n');
    await expect(getUrl(s3, `s3://${BUCKET}/uploaded/feed/.DS_Store`)).rejects.toThrow();
    const one = await cli('upload', path.join(up, 'a.csv'), `s3://${BUCKET}/uploaded/one/renamed.csv`);
    expect(one.code).toBe(0);
    expect((await getUrl(s3, `s3://${BUCKET}/uploaded/one/renamed.csv`)).toString()).toBe('id\n1\n');
    const missing = await cli('upload', up, 's3://no-such-bucket-here/x/');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^partflow: the bucket "no-such-bucket-here" does not exist at http:\/\/127\.0\.0\.1:\d+: check the bucket name/);
    // Commands that list a prefix name the missing bucket and the store too (S3 says only "The specified bucket does not exist").
    for (const args of [['verify', 's3://no-such-bucket-here/ds/'], ['snapshots', 's3://no-such-bucket-here/ds/']]) {
      const r2 = await cli(...args);
      expect(r2.code).toBe(1);
      expect(r2.stderr).toMatch(/^partflow: the bucket "no-such-bucket-here" does not exist at http:\/\/127\.0\.0\.1:\d+: check the bucket name in the URL and AWS_ENDPOINT_URL_S3\n$/);
    }
    const nothing = await cli('upload', path.join(up, 'nope'), `s3://${BUCKET}/x/`);
    expect(nothing.stderr).toMatch(/nope: no such file or folder/);
    fs.rmSync(up, { recursive: true, force: true });
  });
});

describe('partflow import / inspect / verify / cat', () => {
  it('imports a local directory with an inferred schema, printing it', async () => {
    const r = await cli('import', dir, '--to', `s3://${BUCKET}/imp-inferred/`, '--partition-records', '2');
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout);
    expect(schema.fields.map((f: { name: string }) => f.name)).toEqual(['id', 'name', 'score']);
    expect(r.stderr).toMatch(/imported 2 partitions: records in 5, out 4, rejected 1/);
  });

  it('imports with a given schema: an int beyond its range is rejected naming the field', async () => {
    const schemaFile = path.join(dir, 'count.avsc');
    fs.writeFileSync(schemaFile, JSON.stringify({ type: 'record', name: 'Count', fields: [{ name: 'count', type: 'int' }] }));
    const src = fs.mkdtempSync(path.join(scratch, 'int-'));
    fs.writeFileSync(path.join(src, 'counts.csv'), 'count\n5\n2147483648\n-2147483648\n');
    const r = await cli('import', path.join(src, 'counts.csv'), '--to', `s3://${BUCKET}/imp-int/`, '--schema', schemaFile);
    expect(r.stderr).toMatch(/imported 1 partition: records in 3, out 2, rejected 1/);
    expect(await decodeUrl(s3, `s3://${BUCKET}/imp-int/part-00000.avro`)).toEqual([{ count: 5 }, { count: -2147483648 }]);
    const rejects = (await decodeUrl(s3, `s3://${BUCKET}/imp-int/_rejects/part-00000.avro`)) as { reason: string }[];
    expect(rejects.map((x) => x.reason)).toEqual(['field "count": "2147483648" is beyond the range of an int (-2147483648 to 2147483647): make the field a long']);
  });

  it('imports JSON with a given schema: a field of mixed kinds (kept as JSON text when inferred) gets its values, not their JSON text', async () => {
    const schemaFile = path.join(dir, 'code.avsc');
    fs.writeFileSync(schemaFile, JSON.stringify({ type: 'record', name: 'Code', fields: [
      { name: 'code', type: 'string' }, { name: 'n', type: 'long' }, { name: 'o', type: { type: 'record', name: 'O', fields: [{ name: 'a', type: 'long' }] } },
    ] }));
    const src = fs.mkdtempSync(path.join(scratch, 'mixed-'));
    fs.writeFileSync(path.join(src, 'codes.jsonl'), ['{"code":12345678901234567890,"n":1,"o":{"a":1}}', '{"code":"x","n":"2","o":{"a":2}}', '{"code":true,"n":3,"o":{"a":3}}', '{"code":"y","n":"z","o":{"a":4}}', ''].join('\n'));
    const r = await cli('import', path.join(src, 'codes.jsonl'), '--to', `s3://${BUCKET}/imp-mixed/`, '--schema', schemaFile);
    expect(r.stderr).toMatch(/imported 1 partition: records in 4, out 3, rejected 1/);
    expect(await decodeUrl(s3, `s3://${BUCKET}/imp-mixed/part-00000.avro`)).toEqual([
      { code: '12345678901234567890', n: 1, o: { a: 1 } }, { code: 'x', n: 2, o: { a: 2 } }, { code: 'true', n: 3, o: { a: 3 } },
    ]);
    const rejects = (await decodeUrl(s3, `s3://${BUCKET}/imp-mixed/_rejects/part-00000.avro`)) as { reason: string }[];
    expect(rejects.map((x) => x.reason)).toEqual(['field "n": "z" is not a valid long']);
  });

  it('imports with a given schema, typing values and rejecting what does not fit', async () => {
    const schemaFile = path.join(dir, 'score.avsc');
    fs.writeFileSync(schemaFile, JSON.stringify({
      type: 'record', name: 'Score', fields: [{ name: 'id', type: 'long' }, { name: 'name', type: 'string' }, { name: 'score', type: ['null', 'double'], default: null }],
    }));
    const r = await cli('import', path.join(dir, 'a.csv'), '--to', `s3://${BUCKET}/imp-typed/`, '--schema', schemaFile, '--codec', 'snappy');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/imported 1 partition: records in 5, out 3, rejected 2/);
    expect(await decodeUrl(s3, `s3://${BUCKET}/imp-typed/part-00000.avro`)).toEqual([
      { id: 1, name: 'ann', score: 1.5 }, { id: 3, name: 'cy', score: 2 }, { id: 4, name: 'dee', score: null },
    ]);
    const rejects = (await decodeUrl(s3, `s3://${BUCKET}/imp-typed/_rejects/part-00000.avro`)) as { reason: string }[];
    expect(rejects.map((x) => x.reason)).toEqual(['field "score": "x" is not a valid double', expect.stringMatching(/unparseable CSV row: Quote Not Closed/)]);

    const cat = await cli('cat', `s3://${BUCKET}/imp-typed/part-00000.avro`, '--limit', '2');
    expect(cat.stdout.trim().split('\n').map((l) => JSON.parse(l))).toEqual([{ id: 1, name: 'ann', score: 1.5 }, { id: 3, name: 'cy', score: 2 }]);

    const ins = await cli('inspect', `s3://${BUCKET}/imp-typed/part-00000.avro`, '--json');
    expect(ins.code).toBe(0);
    expect(JSON.parse(ins.stdout)).toMatchObject({ codec: 'snappy', records: 3, blocks: 1, schema: { name: 'Score' }, syncMarker: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect((await cli('inspect', `s3://${BUCKET}/imp-typed/part-00000.avro`)).stdout).toMatch(/codec: +snappy\nrecords: +3 in 1 blocks/);

    expect((await cli('verify', `s3://${BUCKET}/imp-typed/`)).stdout).toMatch(/verified 1 partition: all good/);

    // A local file reads as the same object in S3 does, with no S3 settings needed.
    const local = path.join(dir, 'local-part.avro');
    fs.writeFileSync(local, await getUrl(s3, `s3://${BUCKET}/imp-typed/part-00000.avro`));
    const noS3 = { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1', AWS_ACCESS_KEY_ID: 'half' };
    const localCat = await runCliWith(h.cfg, noS3, 'cat', local, '--limit', '2');
    expect(localCat).toMatchObject({ code: 0, stdout: cat.stdout });
    const localIns = await runCliWith(h.cfg, noS3, 'inspect', local, '--json');
    expect(JSON.parse(localIns.stdout)).toEqual({ ...JSON.parse(ins.stdout), url: local });
    expect((await cli('cat', path.join(dir, 'nosuch.avro'))).stderr).toBe(`partflow: no such file: ${path.join(dir, 'nosuch.avro')} (an s3:// URL or a local file's path)\n`);
    expect((await cli('inspect', dir)).stderr).toBe(`partflow: ${dir} is a directory; give one file (${path.join(dir, '<name>.avro')}) or an s3:// URL\n`);
    expect((await cli('cat', path.join(dir, 'a.csv'))).stderr).toMatch(/^partflow: .*a\.csv: not an Avro object container file: bad magic bytes/);
  });

  it('imports from an S3 prefix too', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'flat/rows.jsonl', Body: '{"a": 1}\n{"a": 2, "b": "x"}\n' }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'flat/zero.jsonl', Body: '' }));
    const r = await cli('import', `s3://${BUCKET}/flat/`, '--to', `s3://${BUCKET}/imp-s3/`);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/imported 1 partition: records in 2, out 2, rejected 0/);
    expect(r.stderr).toContain(`left out 1 empty file (no records):\n  s3://${BUCKET}/flat/zero.jsonl\n`);
    expect(await decodeUrl(s3, `s3://${BUCKET}/imp-s3/part-00000.avro`)).toEqual([{ a: 1, b: null }, { a: 2, b: 'x' }]);
    const none = await cli('import', `s3://${BUCKET}/flat/zero.jsonl`, '--to', `s3://${BUCKET}/imp-none/`);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain(`no records under s3://${BUCKET}/flat/zero.jsonl: every file is empty (s3://${BUCKET}/flat/zero.jsonl)`);
  });

  it('verify finds a corrupt object and a manifest that does not match', async () => {
    const good = await getUrl(s3, `s3://${BUCKET}/imp-typed/part-00000.avro`);
    const bad = Buffer.from(good);
    bad[bad.length - 20] ^= 0x55;
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'broken/part-00000.avro', Body: bad }));
    const manifest = JSON.parse((await getUrl(s3, `s3://${BUCKET}/imp-typed/_manifests/part-00000.json`)).toString());
    manifest.output.url = `s3://${BUCKET}/broken/part-00000.avro`;
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'broken/_manifests/part-00000.json', Body: JSON.stringify(manifest) }));
    const r = await cli('verify', `s3://${BUCKET}/broken/part-00000.avro`);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/PROBLEM import p-00000 .*: output: s3:\/\/it-cli\/broken\/part-00000\.avro: snappy block (CRC32 mismatch|is corrupt)/);
  });

  it('cancel ends a run that waits for a retry: it ends CANCELLED, its failed partition stays failed, verify reads its run manifest, a second cancel is refused', async () => {
    // broken/part-00000.avro (the test above) has a corrupt block: its partition fails, and the run waits for a retry.
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cancel-src/a.avro', Body: await getUrl(s3, `s3://${BUCKET}/imp-typed/part-00000.avro`) }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cancel-src/b.avro', Body: await getUrl(s3, `s3://${BUCKET}/broken/part-00000.avro`) }));
    const id = `cli-cancel-${process.pid}`;
    const waited = await cli('ingest', 'copy', '--source', `s3://${BUCKET}/cancel-src/`, '--target', `s3://${BUCKET}/cancelled/`, '--no-pack', '--workflow-id', id, '--wait');
    expect(waited.code).toBe(3);
    expect(waited.stdout).toContain(`${id} has 1 failed partition and waits for a retry`);

    const c = await cli('cancel', id);
    expect(c.code).toBe(0);
    expect(c.stdout).toContain(`asked Temporal to cancel ${id}`);
    expect(c.stdout).toContain(`partflow retry ${id}\` starts a new run of its input that reuses every committed partition`);
    await h.client.workflow.getHandle(id).result().catch(() => undefined);
    const st = await cli('status', id);
    expect(st.stdout).toMatch(new RegExp(`${id} +CANCELLED`));
    // The corrupt object's copy partition never ran: cancelled, not blocked.
    // The failed partition stays failed (it ran); nothing else was left to cancel.
    const failed = await cli('partitions', id, '--status', 'failed');
    expect(failed.stdout).toMatch(/b\.avro +copy +failed +1 .*CorruptInput/);
    expect((await cli('partitions', id, '--status', 'cancelled')).stdout).toBe('no partitions match\n');
    const v = await cli('verify', id);
    expect(v.stdout).toMatch(/verified 1 partition: all good/);
    // "all good" is about what the run committed: the rest is said beside it.
    expect(v.stderr).toBe(`note: ${id} ended cancelled with (stage, partition) pairs 1 failed, which committed nothing to verify; \`partflow partitions ${id} --dataset s3://${BUCKET}/cancelled/cancel-src/\` lists them\n`);
    expect(v.code).toBe(0);
    const again = await cli('cancel', id);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`${id} is cancelled already: only a running run can be cancelled`);
  });

  it('verify of a prefix with no partflow outputs fails and says what it looked for', async () => {
    const typo = await cli('verify', `s3://${BUCKET}/imp-typd/`);
    expect(typo.code).toBe(1);
    expect(typo.stdout).toBe('');
    expect(typo.stderr).toBe(`partflow: no partflow outputs under s3://${BUCKET}/imp-typd/: looked for partition manifests: <partition>/<version>.json beside an ingest stage's outputs, `
      + `or _manifests/*.json of partflow import; nothing at all is stored under it: check the bucket, dataset and stage names\n`);
    const other = await cli('verify', `s3://${BUCKET}/flat/`);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/no partflow outputs under s3:\/\/it-cli\/flat\/: looked for .*; it holds 2 other objects\n$/);
  });

  it('runs an ingest with --wait, then status and verify by workflow id', async () => {
    const ing = await cli('ingest', 'copy', '--source', `s3://${BUCKET}/imp-typed/part-00000.avro`, '--target', `s3://${BUCKET}/out/`, '--workflow-id', `cli-ingest-${process.pid}`, '--wait', '--json');
    expect(ing.code).toBe(0);
    expect(JSON.parse(ing.stdout)).toMatchObject({ status: 'completed', stages: { copy: { records: { in: 3, out: 3 } } } });
    const st = await cli('status', `cli-ingest-${process.pid}`);
    expect(st.stdout).toMatch(new RegExp(`cli-ingest-${process.pid} +COMPLETED`));
    expect(st.stdout).toMatch(/copy +1\/1 done, 0 running, 0 failed; 3 records out/);
    const v = await cli('verify', `cli-ingest-${process.pid}`);
    expect(v.stdout).toMatch(/verified 1 partition: all good/);
    expect(v.code).toBe(0);

    // history: a partition no run touched, in a dataset that has runs, is an answer; a dataset with nothing at all is an error.
    const dataset = (JSON.parse(ing.stdout) as { outputPrefix: string }).outputPrefix;
    const untouched = await cli('history', dataset, '--partition', 'nosuch.avro');
    expect(untouched).toMatchObject({ code: 0, stdout: `no run or snapshot touched nosuch.avro under ${dataset}\n` });
    const nosuch = await cli('history', `s3://${BUCKET}/datasets/nosuchds/`, '--partition', 'x');
    expect(nosuch.code).toBe(1);
    expect(nosuch.stderr).toBe(`partflow: s3://${BUCKET}/datasets/nosuchds/ has no runs and no snapshots at all (nothing under s3://${BUCKET}/datasets/nosuchds/_runs/ or _snapshots/): `
      + 'check the dataset URL (s3://bucket/prefix/<dataset>/, the --target and --dataset of its ingests)\n');
  });

  it('ingest --wait exits 4 when the run completed but committed no snapshot, and prints why', async () => {
    // The worker runs in this process: without conditional writes it commits no snapshot.
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'nosnap-src/a.csv', Body: 'id,name\n1,ann\n2,bob\n' }));
    process.env.PARTFLOW_CONDITIONAL_WRITES = 'off';
    try {
      const ing = await cli('ingest', 'copy', '--source', `s3://${BUCKET}/nosnap-src/`, '--target', `s3://${BUCKET}/nosnap/`, '--wait');
      expect(ing.stdout).toMatch(/\n {2}no snapshot: cannot commit a snapshot of s3:\/\/it-cli\/nosnap\/[^ ]+: this S3 store does not honour create-only writes/);
      expect(ing.code).toBe(4);
      const json = await cli('ingest', 'copy', '--source', `s3://${BUCKET}/nosnap-src/`, '--target', `s3://${BUCKET}/nosnap/`, '--wait', '--json');
      expect(JSON.parse(json.stdout)).toMatchObject({ status: 'completed', snapshotError: expect.stringMatching(/cannot commit a snapshot/) });
      expect(json.code).toBe(4);
    } finally {
      delete process.env.PARTFLOW_CONDITIONAL_WRITES;
    }
  });

  it('says when no worker polls the task queue of a run it waits for', async () => {
    const lonely = await h.client.workflow.start('ingest', {
      taskQueue: `nobody-${process.pid}`, workflowId: `lonely-${process.pid}`, workflowExecutionTimeout: '1m',
      args: [{ pipeline: 'copy', source: `s3://${BUCKET}/nothing/` }],
    });
    try {
      expect(await noWorkerPolling(lonely)).toMatch(new RegExp(`^no worker polls task queue "nobody-${process.pid}" \\(namespace default\\), so nothing runs lonely-${process.pid} yet: start one with \`partflow worker\``));
    } finally {
      await lonely.terminate();
    }
    // The harness's worker polls its own queue: nothing to say.
    const served = await h.client.workflow.start('ingest', {
      taskQueue: h.cfg.taskQueue, workflowId: `served-${process.pid}`, workflowExecutionTimeout: '1m',
      args: [{ pipeline: 'copy', source: `s3://${BUCKET}/imp-inferred/`, target: `s3://${BUCKET}/served/` }],
    });
    expect(await noWorkerPolling(served)).toBeUndefined();
    await served.result().catch(() => undefined);
  });

  it('gives clear errors for wrong arguments', async () => {
    expect((await cli('ingest', 'copy')).stderr).toMatch(/required option '--source <url>' not specified/);
    expect((await cli('ingest', 'copy', '--source', 's3://b/x', '--max-parallel', '0')).stderr).toMatch(/max-parallel must be an integer from 1 to 1000/);
    // Checked before the run starts: no failed workflow is left behind a typo.
    const typo = await cli('ingest', 'copy', '--source', 'https://acme/x/', '--workflow-id', 'cli-typo');
    expect(typo.stderr).toBe('partflow: invalid ingest input: source: invalid URL "https://acme/x/": must start with s3:// (s3://bucket/prefix/ or s3://bucket/key) or kafka:// (kafka://host:port/topic)\n');
    await expect(h.client.workflow.getHandle('cli-typo').describe()).rejects.toThrow(/not found/i);
    // A huge mistaken value is repeated cut, with its length; a bad dataset name is told the whole rule.
    const huge = await cli('ingest', 'copy', '--source', `s3://${BUCKET}/${'a'.repeat(120_000)}`);
    expect(huge).toMatchObject({ code: 1, stderr: `partflow: invalid ingest input: source: invalid S3 URL "s3://${BUCKET}/${'a'.repeat(200 - 6 - BUCKET.length)}"… (${120_006 + BUCKET.length} characters): key longer than 1024 bytes\n` });
    expect((await cli('ingest', 'copy', '--source', `s3://${BUCKET}/x/`, '--dataset', '_x')).stderr)
      .toBe('partflow: invalid ingest input: dataset must be 1 to 128 letters, digits, ".", "_" or "-", starting with a letter or digit, got "_x"\n');
    expect((await cli('cat', 'http://nope/x.avro')).stderr).toMatch(/invalid S3 URL "http:\/\/nope\/x\.avro": must start with s3:\/\//);
    for (const k of ['cat-prefix/a.avro', 'cat-prefix/b.avro', 'cat-prefix/notes.txt']) await s3Client(h.cfg.s3).send(new PutObjectCommand({ Bucket: BUCKET, Key: k, Body: 'x' }));
    // A target bucket that does not exist is said before the run starts, with the setting to fix.
    const noTarget = await cli('ingest', 'copy', '--source', `s3://${BUCKET}/cat-prefix/`, '--target', `s3://no-target-${process.pid}/out/`, '--workflow-id', 'cli-no-target');
    expect(noTarget).toMatchObject({ code: 1, stderr: `partflow: target s3://no-target-${process.pid}/out/: the bucket "no-target-${process.pid}" does not exist at ${h.cfg.s3.endpoint} (S3 NoSuchBucket): create it, or give another target (--target, the input's "target"; by default datasets/ in the source's bucket)\n` });
    await expect(h.client.workflow.getHandle('cli-no-target').describe()).rejects.toThrow(/not found/i);
    expect((await cli('cat', `s3://${BUCKET}/cat-prefix/`)).stderr).toBe('partflow: s3://it-cli/cat-prefix/ is a prefix; cat reads one object. Avro objects under it (2 in all):\n  s3://it-cli/cat-prefix/a.avro\n  s3://it-cli/cat-prefix/b.avro\n');
    expect((await cli('cat', `s3://${BUCKET}/no-such-prefix/`)).stderr).toMatch(/no-such-prefix\/ is a prefix with no Avro objects under it; cat reads one object/);
    expect((await cli('schemas', 'check', '--mode', 'sideways')).stderr).toMatch(/--mode must be backward, forward or full/);
    // A missing bucket is not a missing object; an unknown run names the Temporal that was asked.
    expect((await cli('cat', `s3://nobucket-${process.pid}/x.avro`)).stderr)
      .toBe(`partflow: bucket nobucket-${process.pid} does not exist (S3 NoSuchBucket: check the bucket name and the endpoint), so neither does s3://nobucket-${process.pid}/x.avro\n`);
    expect((await cli('cat', `s3://${BUCKET}/nosuch.avro`)).stderr).toBe(`partflow: object not found: s3://${BUCKET}/nosuch.avro\n`);
    const status = await cli('status', `nosuch-wf-${process.pid}`);
    expect(status.code).toBe(1);
    expect(status.stderr).toBe(`partflow: no workflow nosuch-wf-${process.pid} in namespace ${h.cfg.temporalNamespace} at ${h.cfg.temporalAddress} (from TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE): `
      + 'check the id, or point the CLI at the Temporal that runs it\n');
  });
});
