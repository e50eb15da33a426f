import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { gzipSync } from 'node:zlib';
import { createActivities } from '../../activities';
import { PartitionResult } from '../../src/manifest/partition';
import { resolveIngestInput } from '../../src/pipeline/input';
import { Plan, PlanSummary } from '../../src/pipeline/plan';
import { PipelineRegistry } from '../../src/pipeline/registry';
import { builtinPipelines } from '../../src/pipelines';
import { ensureBucket } from '../../src/stack/embedded';
import { s3Client } from '../../src/storage/client';
import { rawRecords } from '../../src/testing';
import type { ScanDetails } from '../../src/formats/scan-object';
import { decodeUrl, getJson } from '../helpers/s3';
import { testConfig } from '../helpers/stack';

/** gzip sources and big integers through the real plan and import activities, on the real S3 server. */
const BUCKET = 'it-flat-sources';
const cfg = testConfig('flat-sources', BUCKET);
let s3: S3Client;
const acts = () => createActivities({ config: cfg, s3, registry: new PipelineRegistry(builtinPipelines) });
const env = (heartbeatDetails?: unknown) => new MockActivityEnvironment(
  { activityId: 'import:p-00000', heartbeatDetails }, { logger: new DefaultLogger('ERROR') },
);

async function put(key: string, body: Buffer) {
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
}

async function plan(source: string, target: string, e = env()): Promise<PlanSummary> {
  return e.run(acts().planIngest, resolveIngestInput({ pipeline: 'copy', source: `s3://${BUCKET}/${source}`, target: `s3://${BUCKET}/${target}/`, partitionRecords: 300 }));
}

/** Imports every partition and returns the raw records in order. */
async function importAll(p: PlanSummary): Promise<unknown[]> {
  const out: unknown[] = [];
  for (let i = 0; i < p.partitions; i++) {
    const r = (await env().run(acts().importPartition, { bucket: p.bucket, planKey: p.planKey, index: i })) as PartitionResult;
    out.push(...(await decodeUrl(s3, `s3://${p.bucket}/${r.outputKey}`)));
  }
  return out;
}

const csv = Buffer.from('id,name\n' + Array.from({ length: 1000 }, (_, i) => `${i},"nåme ${i}${i % 9 ? '' : '\nsecond line'}"`).join('\n') + '\n');
const jsonl = Buffer.from([
  ...Array.from({ length: 500 }, (_, i) => JSON.stringify({ id: i, s: `é${i}` })),
  '{"id": 9007199254740993, "s": "big"}',
  '{"id": -9223372036854775808, "s": "min"}',
].join('\n') + '\n');

beforeAll(async () => {
  s3 = s3Client(cfg.s3);
  await ensureBucket(s3, BUCKET);
  await put('plain-csv/data.csv', csv);
  await put('gz-csv/data.csv.gz', gzipSync(csv));
  await put('plain-jsonl/data.jsonl', jsonl);
  await put('gz-jsonl/data.jsonl.gz', gzipSync(jsonl));
});

describe('many flat sources', () => {
  it('are scanned several at a time, and the plan still numbers schemas and partitions in source order', async () => {
    // The first object is the slowest to scan, so others finish before it; a large one in the
    // middle goes the checkpointed way on its own.
    const keys: string[] = [];
    const body = (k: number) => {
      if (k === 0) return Buffer.from('first,second\n' + Array.from({ length: 20_000 }, (_, i) => `${i},${'y'.repeat(i % 30)}`).join('\n') + '\n');
      if (k === 20) return Buffer.from('big,row\n' + Array.from({ length: 60_000 }, (_, i) => `${i},${'z'.repeat(i % 30)}`).join('\n') + '\n');
      return Buffer.from(`id,name\n${k},n${k}\n${k + 1000},m${k}\n`);
    };
    for (let k = 0; k < 40; k++) {
      keys.push(`many/o-${String(k).padStart(2, '0')}.csv`);
      await put(keys[k], body(k));
    }
    expect(body(20).length).toBeGreaterThan(1024 ** 2);
    const e = env();
    const beats: ScanDetails[] = [];
    e.on('heartbeat', (d: unknown) => beats.push(d as ScanDetails));
    const summary = (await e.run(acts().planIngest, resolveIngestInput({ pipeline: 'copy', source: `s3://${BUCKET}/many/`, target: `s3://${BUCKET}/out-many/`, pack: false, partitionRecords: 1_000_000 }))) as PlanSummary;
    expect(summary).toMatchObject({ partitions: 40, scannedRecords: 20_000 + 60_000 + 38 * 2 });
    // A new target: the import (raw) and the stage have nothing to look for before they run.
    expect(summary.emptyStages).toEqual(['raw', 'copy']);
    const p = await getJson<Plan>(s3, `s3://${BUCKET}/${summary.planKey}`);
    expect(p.rawSchemas.map((r) => r.fields.map((f) => f.name))).toEqual([['first', 'second'], ['id', 'name'], ['big', 'row']]);
    expect(p.partitions.map((x) => [x.pieces[0].key, x.schema, x.pieces.reduce((n, pc) => n + (pc.records ?? 0), 0)])).toEqual(
      keys.map((k, i) => [k, i === 0 ? 0 : i === 20 ? 2 : 1, i === 0 ? 20_000 : i === 20 ? 60_000 : 2]),
    );
    // The large one beat as a checkpointed scan does (no running count); the small ones with one.
    const url = (k: string) => `s3://${BUCKET}/${k}`;
    expect(beats).toContainEqual({ scanning: url(keys[20]) });
    expect(beats.filter((b) => 'scanning' in b && b.scanning !== url(keys[20])).every((b) => 'scanned' in b)).toBe(true);
  });
});

describe("partflow/testing's rawRecords", () => {
  it('gives the records and rejects the real import writes, for a JSON Lines field of mixed kinds, CSV and gzip', async () => {
    const mixed = Buffer.from(['{"id":1,"amount":"12.50"}', '{"id":2,"amount":3}', '{"id":3', '{"id":4,"amount":{"v":[1]},"big":9007199254740993}', '{"id":5,"s":"a\\ud800"}'].join('\n') + '\n');
    const cases: [string, Buffer][] = [['raw-mixed/o.jsonl', mixed], ['raw-csv/data.csv', csv], ['raw-gz/data.jsonl.gz', gzipSync(jsonl)]];
    for (const [key, body] of cases) {
      await put(key, body);
      const p = await plan(key.replace(/[^/]+$/, ''), `out-${key.split('/')[0]}`);
      const real = { records: [] as unknown[], rejects: [] as unknown[] };
      for (let i = 0; i < p.partitions; i++) {
        const r = (await env().run(acts().importPartition, { bucket: p.bucket, planKey: p.planKey, index: i })) as PartitionResult;
        real.records.push(...(await decodeUrl(s3, `s3://${p.bucket}/${r.outputKey}`)));
        const m = await getJson<{ rejects: { url: string } | null }>(s3, `s3://${p.bucket}/${r.manifestKey}`);
        if (m.rejects) real.rejects.push(...((await decodeUrl(s3, m.rejects.url)) as { index: number; reason: string; record: string }[]).map((x) => [Number(x.index), x.reason, x.record]));
      }
      const mine = await rawRecords(key, { content: body });
      expect(mine.records).toEqual(real.records);
      expect(mine.rejects.map((x) => [x.index, x.reason, x.record])).toEqual(real.rejects);
      if (key === 'raw-mixed/o.jsonl') {
        expect(mine.records.map((r) => r.amount)).toEqual(['"12.50"', '3', '{"v":[1]}']);
        expect(mine.rejects.map((x) => x.index)).toEqual([2, 4]);
      }
    }
  });
});

describe('sources named like an Avro primitive type', () => {
  it('import, whether the dataset name comes from the file (long.csv, int.jsonl, boolean.json) or is given (double)', async () => {
    await put('prim/long.csv', Buffer.from('id,name\n1,a\n'));
    await put('prim/int.jsonl', Buffer.from('{"id":1,"name":"a"}\n'));
    await put('prim/boolean.json', Buffer.from('[{"id":1,"name":"a"}]'));
    for (const key of ['prim/long.csv', 'prim/int.jsonl', 'prim/boolean.json']) {
      const p = await plan(key, `out-${key.replace(/\W/g, '-')}`);
      expect(await importAll(p)).toEqual([{ id: key.endsWith('.csv') ? '1' : 1, name: 'a' }]);
    }
    const input = resolveIngestInput({ pipeline: 'copy', source: `s3://${BUCKET}/plain-csv/`, target: `s3://${BUCKET}/out-double/`, dataset: 'double', partitionRecords: 300 });
    const p = (await env().run(acts().planIngest, input)) as PlanSummary;
    expect(await importAll(p)).toHaveLength(1000);
  });
});

describe('JSON array sources', () => {
  // Strings that hold brackets, commas, quotes and escaped quotes; nested values; a number per record beyond 2^53 on some.
  const items = Array.from({ length: 1000 }, (_, i) => ({
    id: i, s: `a "quoted", [bracketed] {braced} \\ ${i}`, nested: { list: [i, ']', '},{', { deep: ['"', i % 3 ? null : true] }] },
    ...(i % 100 === 7 ? { big: `${9007199254740993n + BigInt(i)}` } : {}),
  }));
  const text = (pretty: boolean) => Buffer.from(`\ufeff${JSON.stringify(items, null, pretty ? 2 : undefined)}\n`.replace(/"big": ?"(\d+)"/g, '"big":$1'));

  it('are cut into byte-range chunks at element boundaries and each import reads its own range: every record once, in order', async () => {
    const body = text(true);
    await put('json-chunks/data.json', body);
    await put('json-chunks-gz/data.json.gz', gzipSync(body));
    const p = await plan('json-chunks/', 'out-json-chunks');
    expect(p).toMatchObject({ format: 'json', partitions: 4, scannedRecords: 1000 });
    const planned = await getJson<Plan>(s3, `s3://${BUCKET}/${p.planKey}`);
    expect(planned.scanner?.version).toBe(2);
    const pieces = planned.partitions.map((x) => x.pieces[0]);
    // Byte offsets (not element indexes), each chunk after the first starting at the "," after an element, with its bytes' SHA-256.
    expect(pieces.map((pc) => pc.records)).toEqual([300, 300, 300, 100]);
    expect(pieces[0].range![0]).toBe(0);
    for (let k = 1; k < 4; k++) {
      expect(pieces[k].range![0]).toBe(pieces[k - 1].range![1]);
      expect(body.subarray(pieces[k].range![0], pieces[k].range![0] + 1).toString()).toBe(',');
      expect(body.subarray(pieces[k].range![0] - 1, pieces[k].range![0]).toString()).toBe('}');
    }
    expect(pieces[3].range![1]).toBe(-1);
    expect(pieces.every((pc) => /^[0-9a-f]{64}$/.test(pc.sha256 ?? ''))).toBe(true);

    const counts: number[] = [];
    const records: { id: number; s: string; nested: string; big: bigint | null }[] = [];
    for (let i = 0; i < p.partitions; i++) {
      const r = (await env().run(acts().importPartition, { bucket: p.bucket, planKey: p.planKey, index: i })) as PartitionResult;
      expect(r.counts).toMatchObject({ in: pieces[i].records, out: pieces[i].records, rejected: 0 });
      counts.push(r.counts.in);
      records.push(...((await decodeUrl(s3, `s3://${p.bucket}/${r.outputKey}`)) as typeof records));
    }
    expect(counts.reduce((a, b) => a + b, 0)).toBe(1000);
    expect(records.map((r) => r.id)).toEqual(items.map((x) => x.id));
    expect(records.map((r) => r.s)).toEqual(items.map((x) => x.s));
    expect(records.map((r) => JSON.parse(r.nested))).toEqual(items.map((x) => x.nested));
    expect(records[107].big).toBe(9007199254740993n + 107n);
    expect(records[108].big).toBeNull();

    // The same file gzipped: chunks at the same (decompressed) offsets, the same records.
    const gz = await plan('json-chunks-gz/', 'out-json-chunks-gz');
    const gzPlan = await getJson<Plan>(s3, `s3://${BUCKET}/${gz.planKey}`);
    expect(gzPlan.partitions.map((x) => x.pieces[0].range)).toEqual(pieces.map((pc) => pc.range));
    expect(await importAll(gz)).toEqual(records);
  });

  it('a run planned before .json chunks were byte ranges (scanner 1, element indexes) still imports each of its chunks', async () => {
    const body = text(false);
    await put('json-legacy/data.json', body);
    const p = await plan('json-legacy/', 'out-json-legacy');
    const now = await importAll(p);
    // The plan as a worker before the upgrade wrote it: element ranges [start, end) and scanner 1.
    const planned = await getJson<Plan>(s3, `s3://${BUCKET}/${p.planKey}`);
    const old: Plan = {
      ...planned, dataset: 'legacy', scanner: { version: 1, maxRecordBytes: planned.scanner!.maxRecordBytes },
      partitions: planned.partitions.map((x, k) => ({ ...x, pieces: x.pieces.map(({ sha256: _s, ...pc }) => ({ ...pc, range: [k * 300, k * 300 + pc.records!] as [number, number] })) })),
    };
    const key = p.planKey.replace(/\.json$/, '-legacy.json');
    await put(key, Buffer.from(JSON.stringify(old)));
    expect(await importAll({ ...p, planKey: key })).toEqual(now);
    expect(now).toHaveLength(1000);
  });

  it('a malformed array becomes a partition of its own that fails, naming the object and the byte; the others import', async () => {
    await put('json-bad/a.json', Buffer.from('[{"id":1},{"id":2}]'));
    await put('json-bad/b.json', Buffer.from('[{"id":3},{"id":4} {"id":5}]'));
    const p = await plan('json-bad/', 'out-json-bad');
    const planned = await getJson<Plan>(s3, `s3://${BUCKET}/${p.planKey}`);
    expect(planned.partitions.map((x) => x.unreadable ?? null)).toEqual([null, `s3://${BUCKET}/json-bad/b.json: not valid JSON (at byte 19: expected "," or "]" after an element)`]);
    expect(await decodeUrl(s3, `s3://${p.bucket}/${((await env().run(acts().importPartition, { bucket: p.bucket, planKey: p.planKey, index: 0 })) as PartitionResult).outputKey}`)).toEqual([{ id: 1 }, { id: 2 }]);
    await expect(env().run(acts().importPartition, { bucket: p.bucket, planKey: p.planKey, index: 1 })).rejects.toThrow(/corrupt input, found while planning: .*b\.json: not valid JSON \(at byte 19/);
  });
});

describe('CSV delimiters', () => {
  it('a semicolon file whose header has a comma is read as semicolons in every chunk, and a sep= line is not a row', async () => {
    const rows = Array.from({ length: 700 }, (_, i) => `n${i};${i},50;2024-01-01`);
    await put('euro/euro.csv', Buffer.from(`Name;Preis (EUR, brutto);Datum\n${rows.join('\n')}\n`));
    const p = await plan('euro/', 'out-euro');
    expect(p.partitions).toBe(3);
    const records = await importAll(p);
    expect(records).toHaveLength(700);
    expect(records[650]).toEqual({ Name: 'n650', Preis_EUR_brutto: '650,50', Datum: '2024-01-01' });
    await put('excelsep/x.csv', Buffer.from('sep=;\r\na;b\r\n1;2\r\n'));
    expect(await importAll(await plan('excelsep/', 'out-excelsep'))).toEqual([{ a: '1', b: '2' }]);
  });
});

describe('gzip flat sources', () => {
  it('a .csv.gz plans the chunks of the plain file (decompressed offsets) and imports the same records', async () => {
    const [plain, gz] = [await plan('plain-csv/', 'out-plain-csv'), await plan('gz-csv/', 'out-gz-csv')];
    expect(gz).toMatchObject({ format: 'csv', partitions: 4, scannedRecords: 1000 });
    const [pp, gp] = [await getJson<Plan>(s3, `s3://${BUCKET}/${plain.planKey}`), await getJson<Plan>(s3, `s3://${BUCKET}/${gz.planKey}`)];
    const ranges = (x: Plan) => x.partitions.map((p) => p.pieces.map((pc) => [pc.range, pc.records]));
    expect(ranges(gp)).toEqual(ranges(pp));
    const records = await importAll(gz);
    expect(records).toEqual(await importAll(plain));
    expect(records).toHaveLength(1000);
    expect(records[9]).toEqual({ id: '9', name: 'nåme 9\nsecond line' });
  });

  it('a .jsonl.gz keeps integers beyond 2^53 exact, typed as long', async () => {
    const gz = await plan('gz-jsonl/', 'out-gz-jsonl');
    const p = await getJson<Plan>(s3, `s3://${BUCKET}/${gz.planKey}`);
    expect(p.rawSchemas[0].fields).toEqual([{ name: 'id', source: 'id', type: 'long' }, { name: 's', source: 's', type: 'string' }]);
    const records = (await importAll(gz)) as { id: number | bigint; s: string }[];
    expect(records).toHaveLength(502);
    expect(records.slice(-2)).toEqual([{ id: 9007199254740993n, s: 'big' }, { id: -9223372036854775808n, s: 'min' }]);
    expect(records[7]).toEqual({ id: 7, s: 'é7' });
  });

  it('a JSON string with a lone surrogate becomes a reject, not a committed output no reader can decode', async () => {
    await put('surrogate/data.jsonl', Buffer.from('{"id":1,"s":"a\\ud800b"}\n{"id":2,"s":"ok \\ud83d\\ude00"}\n'));
    const p = await plan('surrogate/', 'out-surrogate');
    const r = (await env().run(acts().importPartition, { bucket: p.bucket, planKey: p.planKey, index: 0 })) as PartitionResult;
    expect(r.counts).toMatchObject({ in: 2, out: 1, rejected: 1 });
    expect(await decodeUrl(s3, `s3://${p.bucket}/${r.outputKey}`)).toEqual([{ id: 2, s: 'ok 😀' }]);
    const m = await getJson<{ rejects: { url: string } | null }>(s3, `s3://${p.bucket}/${r.manifestKey}`);
    const rej = (await decodeUrl(s3, m.rejects!.url)) as { reason: string; record: string }[];
    expect(rej).toHaveLength(1);
    expect(rej[0].reason).toMatch(/lone UTF-16 surrogate/);
    expect(JSON.parse(rej[0].record)).toEqual({ id: 1, s: 'a\ud800b' });
  });

  it('a reject of a chunk after the first names the chunk\'s byte range, in which its index finds the record', async () => {
    const lines = Array.from({ length: 2000 }, (_, i) => (i === 700 || i === 1500 ? `[${i}]` : JSON.stringify({ id: i, s: `r${i}` })));
    lines.splice(1200, 0, '');
    const body = Buffer.from(lines.join('\n') + '\n');
    await put('chunk-rejects/data.jsonl', body);
    const p = await plan('chunk-rejects/', 'out-chunk-rejects');
    expect(p.partitions).toBeGreaterThan(2);
    const found: string[] = [];
    for (let i = 0; i < p.partitions; i++) {
      const r = (await env().run(acts().importPartition, { bucket: p.bucket, planKey: p.planKey, index: i })) as PartitionResult;
      const m = await getJson<{ rejects: { url: string } | null }>(s3, `s3://${p.bucket}/${r.manifestKey}`);
      if (!m.rejects) continue;
      for (const x of (await decodeUrl(s3, m.rejects.url)) as { source: string; index: number; record: string }[]) {
        const range = /#bytes=(\d+)-(\d*)$/.exec(x.source);
        expect(x.source.replace(/#bytes=.*$/, '')).toBe(`s3://${BUCKET}/chunk-rejects/data.jsonl`);
        // Counted as the import counts: records, not blank lines, from the chunk's first byte.
        const text = body.subarray(range ? Number(range[1]) : 0, range?.[2] ? Number(range[2]) : undefined).toString();
        expect(text.split('\n').filter((l) => l.trim() !== '')[Number(x.index)]).toBe(x.record);
        found.push(x.record);
      }
    }
    expect(found).toEqual(['[700]', '[1500]']);

    // A JSON array's chunks are byte ranges too: a reject's index counts elements from its chunk's start.
    const items: unknown[] = Array.from({ length: 1000 }, (_, i) => (i === 650 ? [i] : { id: i, s: `r${i}` }));
    const array = Buffer.from(JSON.stringify(items));
    await put('chunk-rejects-json/data.json', array);
    const pj = await plan('chunk-rejects-json/', 'out-chunk-rejects-json');
    expect(pj.partitions).toBeGreaterThan(2);
    const rejected: { source: string; index: number; record: string }[] = [];
    for (let i = 0; i < pj.partitions; i++) {
      const r = (await env().run(acts().importPartition, { bucket: pj.bucket, planKey: pj.planKey, index: i })) as PartitionResult;
      const m = await getJson<{ rejects: { url: string } | null }>(s3, `s3://${pj.bucket}/${r.manifestKey}`);
      if (m.rejects) rejected.push(...((await decodeUrl(s3, m.rejects.url)) as { source: string; index: number; record: string }[]));
    }
    expect(rejected.map((x) => [x.source.replace(/#bytes=.*$/, ''), Number(x.index), x.record])).toEqual([[`s3://${BUCKET}/chunk-rejects-json/data.json`, 50, '[650]']]);
    const range = /#bytes=(\d+)-(\d+)$/.exec(rejected[0].source)!;
    expect(JSON.parse(`[${array.subarray(Number(range[1]), Number(range[2])).toString().replace(/^,/, '')}]`)[50]).toEqual([650]);
  });

  it('a CSV row with a stray quote is one reject with its whole text, at its index, even as the first row of a chunk', async () => {
    // Chunks of 300 parsed rows: row 3 makes the first chunk end after row 300, so row 301 opens the second.
    const bad: Record<number, string> = { 3: '3,TV 55" screen,yes', 301: '301,"say "hi" now",yes', 1500: '1500,x"y,yes' };
    const rows = Array.from({ length: 2000 }, (_, i) => bad[i] ?? `${i},item ${i},yes`);
    const body = Buffer.from(`id,desc,ok\n${rows.join('\n')}\n`);
    await put('csv-quotes/data.csv', body);
    const p = await plan('csv-quotes/', 'out-csv-quotes');
    const found: string[] = [];
    let records = 0;
    for (let i = 0; i < p.partitions; i++) {
      const r = (await env().run(acts().importPartition, { bucket: p.bucket, planKey: p.planKey, index: i })) as PartitionResult;
      expect(r.counts.in).toBe(r.counts.out + r.counts.rejected);
      records += r.counts.in;
      const m = await getJson<{ rejects: { url: string } | null }>(s3, `s3://${p.bucket}/${r.manifestKey}`);
      if (!m.rejects) continue;
      for (const x of (await decodeUrl(s3, m.rejects.url)) as { source: string; index: number; record: string; reason: string }[]) {
        const range = /#bytes=(\d+)-(\d*)$/.exec(x.source);
        const text = body.subarray(range ? Number(range[1]) : 0, range?.[2] ? Number(range[2]) : undefined).toString();
        expect(text.split('\n').slice(range ? 0 : 1)[Number(x.index)]).toBe(x.record);
        expect(x.reason).toMatch(/^unparseable CSV row: Invalid (Opening|Closing) Quote/);
        found.push(x.record);
      }
    }
    expect(records).toBe(2000);
    expect(found).toEqual(Object.values(bad));
  });

  it('planning heartbeats scan checkpoints, and a plan attempt resumed from one writes the same plan', async () => {
    const big = Buffer.from('id,v\n' + Array.from({ length: 400_000 }, (_, i) => `${i},${'x'.repeat(i % 50)}`).join('\n') + '\n');
    await put('big-gz/big.csv.gz', gzipSync(big));
    const first = env();
    const beats: ScanDetails[] = [];
    first.on('heartbeat', (d: unknown) => beats.push(d as ScanDetails));
    const full = await plan('big-gz/', 'out-big-gz', first);
    const withCp = beats.filter((b) => b.scan);
    expect(withCp.length).toBeGreaterThan(0);
    const cp = withCp[withCp.length - 1];
    expect(cp).toMatchObject({ scanning: `s3://${BUCKET}/big-gz/big.csv.gz`, scan: { key: 'big-gz/big.csv.gz', format: 'csv', perChunk: 300 } });
    expect(cp.scan!.offset).toBeGreaterThan(0);
    // The next attempt gets the last heartbeat's details and carries on from its checkpoint.
    const resumed = await plan('big-gz/', 'out-big-gz', env(cp));
    expect(resumed).toEqual(full);
    // It did carry on from the checkpoint: a count changed in it shows up in the result.
    const tampered = { ...cp, scan: { ...cp.scan!, records: cp.scan!.records + 1000 } };
    expect((await plan('big-gz/', 'out-big-gz-t', env(tampered))).scannedRecords).toBe(full.scannedRecords! + 1000);
  });
});
