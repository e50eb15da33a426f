import { CreateMultipartUploadCommand, ListMultipartUploadsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ensureBucket } from '../../src/stack/embedded';
import { s3Client } from '../../src/storage/client';
import { runCli } from '../helpers/cli';
import { testConfig } from '../helpers/stack';

/**
 * `partflow gc --uploads` (built dist/: `npm run build` first) in a bucket partflow shares with
 * other programs: it is a dry run unless --yes, and it aborts only uploads partflow started.
 */
const BUCKET = 'gc-uploads';
const cfg = testConfig(`gc-uploads-${process.pid}`, BUCKET);
let s3: S3Client;

const put = (key: string, body: string) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
const start = (key: string) => s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
const open = async () => ((await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))).Uploads ?? []).map((u) => u.Key!).sort();
const gc = (...args: string[]) => runCli(cfg, 'gc', '--uploads', '--bucket', BUCKET, '--older-than', '0s', ...args);

beforeAll(async () => {
  s3 = s3Client(cfg.s3);
  await ensureBucket(s3, BUCKET);
});

afterAll(() => s3?.destroy());

describe('gc --uploads in a shared bucket', () => {
  // partflow's: inside a dataset folder, an import's part files, an export's files.
  const ours = [
    'shop/ds/copy/p-0123456789ab/1-abc.avro',
    'shop/ds/_runs/wf/run.json',
    'raw/shop/part-00001.avro',
    'raw/shop/_rejects/part-00001.avro',
    'exports/ds/enrich/00000001-00000002/partitions/p-0123456789ab.jsonl.gz',
  ];
  // Another program's, and keys that only look like partflow's.
  const foreign = [
    'backups/other-app/db-dump.tar',
    'shop/dsx/copy/p-0123456789ab/1-abc.avro',
    'lookalike/part-00000.avro',
    'lookalike/partitions/x.jsonl.gz',
  ];

  beforeAll(async () => {
    await put('shop/ds/_partflow.json', JSON.stringify({ kind: 'partflow.dataset', version: 2, dataset: 'ds' }));
    await put('raw/shop/_manifests/part-00000.json', JSON.stringify({ kind: 'partflow.partition', version: 2, pipeline: 'import' }, null, 1));
    await put('exports/ds/enrich/00000001-00000002/_export.started.json', JSON.stringify({ kind: 'partflow.export.started', dataset: 's3://x/ds/' }, null, 1));
    await put('lookalike/_manifests/part-00000.json', '{"kind": "something else"}');
    await put('lookalike/_export.started.json', '{"kind": "partflow.export"}');
    for (const key of [...ours, ...foreign]) await start(key);
  });

  it('a dry run by default: lists partflow\'s stale uploads, names the others it leaves alone, aborts nothing', async () => {
    const before = await open();
    const r = await gc();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.slice(0, -1).map((l) => /^would abort s3:\/\/gc-uploads\/(\S+) /.exec(l)?.[1]).sort()).toEqual([...ours].sort());
    expect(r.stdout).toContain(`would abort s3://${BUCKET}/raw/shop/part-00001.avro (upload `);
    expect(r.stdout).toMatch(/, in the import s3:\/\/gc-uploads\/raw\/shop\/\)\n/);
    expect(r.stdout).toMatch(/ds\/copy\/p-0123456789ab\/1-abc\.avro \(upload [^,]+, started [^,]+, in the dataset s3:\/\/gc-uploads\/shop\/ds\/\)\n/);
    expect(r.stdout).toMatch(/, in the export s3:\/\/gc-uploads\/exports\/ds\/enrich\/00000001-00000002\/\)\n/);
    const summary = lines[lines.length - 1];
    expect(summary).toMatch(/^5 stale uploads would be aborted \(dry run; --yes aborts\); 4 stale uploads left alone, not partflow's \((s3:\/\/gc-uploads\/\S+, ){2}s3:\/\/gc-uploads\/\S+ and 1 more\): --all-uploads includes them$/);
    expect(summary).toContain('s3://gc-uploads/backups/other-app/db-dump.tar');
    expect(await open()).toEqual(before);
    expect(await open()).toEqual([...ours, ...foreign].sort());
  });

  it('--dry-run with --yes is refused', async () => {
    const r = await gc('--dry-run', '--yes');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--dry-run and --yes contradict/);
    expect(await open()).toEqual([...ours, ...foreign].sort());
  });

  it('--yes aborts partflow\'s stale uploads only; --prefix narrows it; --all-uploads takes the others too', async () => {
    const some = await gc('--prefix', 'shop/', '--yes');
    expect(some.stdout).toMatch(/^abort s3:\/\/gc-uploads\/shop\/ds\/_runs\/wf\/run\.json /m);
    expect(some.stdout.trim().split('\n').pop()).toBe('2 stale uploads, 2 aborted; 1 stale upload left alone, not partflow\'s (s3://gc-uploads/shop/dsx/copy/p-0123456789ab/1-abc.avro): --all-uploads includes them');
    expect(await open()).toEqual([...ours.slice(2), ...foreign].sort());
    const rest = await gc('--yes');
    expect(rest.code).toBe(0);
    expect(rest.stdout).toMatch(/^3 stale uploads, 3 aborted; 4 stale uploads left alone/m);
    expect(await open()).toEqual([...foreign].sort());
    const dry = await gc('--all-uploads', '--prefix', 'lookalike/');
    expect(dry.stdout.trim().split('\n').pop()).toBe('2 stale uploads would be aborted (dry run; --yes aborts)');
    expect(await open()).toEqual([...foreign].sort());
    const all = await gc('--all-uploads', '--prefix', 'lookalike/', '--yes');
    expect(all.stdout.trim().split('\n').pop()).toBe('2 stale uploads, 2 aborted');
    expect(await open()).toEqual(foreign.filter((k) => !k.startsWith('lookalike/')).sort());
    expect((await runCli(cfg, 'gc', 's3://x/ds/', '--keep-snapshots', '1', '--all-uploads')).stderr).toMatch(/--all-uploads goes with --uploads/);
  });
});
