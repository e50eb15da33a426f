import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { WorkflowFailedError } from '@temporalio/client';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { gzipSync } from 'node:zlib';
import { loadSchema } from '../../src/avro/schemas';
import { PartitionManifest } from '../../src/manifest/partition';
import { IngestSummary, RunManifest } from '../../src/manifest/run';
import { IngestInput } from '../../src/pipeline/input';
import { builtinPipelines } from '../../src/pipelines';
import { vegaDataFile } from '../../src/stack/sample';
import { s3Client } from '../../src/storage/client';
import { toolPath } from '../../src/stack/process';
import { fanInPipeline, badOutputPipeline } from '../fixtures/pipelines';
import { fastavroRead } from '../helpers/fastavro';
import { decodeUrl, getJson, getUrl, sha256 } from '../helpers/s3';
import { manifestOf, part, runOf } from '../helpers/runs';
import { startHarness, TestHarness } from '../helpers/stack';

const BUCKET = 'it-ingest';
let h: TestHarness;
let s3: S3Client;

const MESSY = [
  'Airport Name,Aircraft Make Model,Effect Amount of damage,Flight Date,Aircraft Airline Operator,Origin State,Phase of flight,Wildlife Size,Wildlife Species,Time of day,Cost Other,Cost Repair,Cost Total $,Speed IAS in knots',
  'NASHVILLE INTL,B-737-300,None,1996-10-03,US AIRWAYS*,Tennessee,Approach,Small,European starling,Day,0,0,0,140',
  'NASHVILLE INTL,B-737-300,None,not a date,US AIRWAYS*,Tennessee,Approach,Small,European starling,Day,0,0,0,140',
  ',B-737-300,None,1996-10-03,US AIRWAYS*,Tennessee,Approach,Small,European starling,Day,0,0,0,140',
  'NASHVILLE INTL,B-737-300,None,1996-10-03,US AIRWAYS*,Tennessee,Approach,Small,European starling,Day,0,0,lots,140',
  'too,few,columns',
  'NASHVILLE INTL,MD-80,Minor,10/4/1996,AMERICAN AIRLINES,Tennessee,Climb,Medium,Rock pigeon,Night,0,"1,000",1000,',
].join('\n') + '\n';

async function put(key: string, body: Buffer | string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
}

async function run(input: IngestInput, id: string): Promise<IngestSummary> {
  return h.client.workflow.execute('ingest', { taskQueue: h.cfg.taskQueue, workflowId: `${id}-${process.pid}`, args: [input], workflowExecutionTimeout: '3m' });
}

async function failure(input: unknown, id: string): Promise<Error & { type?: string }> {
  try {
    await h.client.workflow.execute('ingest', { taskQueue: h.cfg.taskQueue, workflowId: `${id}-${process.pid}`, args: [input], workflowExecutionTimeout: '1m' });
  } catch (e) {
    expect(e).toBeInstanceOf(WorkflowFailedError);
    let c = (e as Error & { cause?: Error }).cause as (Error & { cause?: Error; type?: string }) | undefined;
    while (c?.cause) c = c.cause as typeof c;
    return c!;
  }
  throw new Error('expected the workflow to fail');
}

beforeAll(async () => {
  h = await startHarness('ingest', [...builtinPipelines, fanInPipeline, badOutputPipeline], { bucket: BUCKET });
  s3 = s3Client(h.cfg.s3);
  await put('incoming/birdstrikes/birdstrikes.csv', fs.readFileSync(vegaDataFile('birdstrikes.csv')));
  await put('incoming/birdstrikes/messy.csv', MESSY);
  await put('reference/airports.csv', fs.readFileSync(vegaDataFile('airports.csv')));
});

afterAll(async () => {
  await h?.stop();
});

describe('birdstrikes ingest on the real stack', () => {
  let first: IngestSummary;

  beforeAll(async () => {
    first = await run({ pipeline: 'birdstrikes', source: `s3://${BUCKET}/incoming/birdstrikes/`, target: `s3://${BUCKET}/run-a/`, partitionRecords: 3000, maxParallel: 4 }, 'bird-a');
  });

  it('completes with counts that add up stage by stage', () => {
    expect(first.status).toBe('completed');
    expect(first.partitions).toBe(5); // 10000 rows in 4 chunks of <= 3000, plus messy.csv
    const { raw, map, enrich } = first.stages;
    for (const s of [raw, map, enrich]) {
      expect(s.failed).toBe(0);
      expect(s.succeeded).toBe(5);
      expect(s.records.in).toBe(s.records.out + s.records.rejected + s.records.dropped);
    }
    expect(raw.records).toEqual({ in: 10_006, out: 10_005, rejected: 1, dropped: 0 }); // "too,few,columns"
    expect(map.records).toEqual({ in: 10_005, out: 10_002, rejected: 3, dropped: 0 });
    expect(enrich.records).toEqual({ in: 10_002, out: 10_002, rejected: 0, dropped: 0 });
  });

  it('writes outputs that decode to exactly the counted records, and rejects with their reasons', async () => {
    const run = await runOf(s3, first);
    for (const [stage, st] of Object.entries(first.stages)) {
      const parts = run.committed[stage];
      expect(parts.map((p) => p.name)).toEqual(['birdstrikes.csv#1/4', 'birdstrikes.csv#2/4', 'birdstrikes.csv#3/4', 'birdstrikes.csv#4/4', 'messy.csv']);
      let records = 0;
      let rejected = 0;
      for (const p of parts) {
        expect(p.output.startsWith(`${st.output}${p.partition}/`)).toBe(true);
        records += (await decodeUrl(s3, p.output)).length;
        const m = await manifestOf(s3, p);
        if (!m.rejects) continue;
        const rs = (await decodeUrl(s3, m.rejects.url)) as { stage: string; reason: string; record: string; source: string }[];
        rejected += rs.length;
        for (const r of rs) {
          expect(r.stage).toBe(stage);
          expect(r.reason.length).toBeGreaterThan(0);
          // A reject names the object it was read from: the source file, or the upstream stage's output.
          if (stage === 'raw') expect(r.source).toBe('s3://it-ingest/incoming/birdstrikes/messy.csv');
          else expect(r.source).toBe(part(run, 'raw', p.name).output);
        }
      }
      expect(records).toBe(st.records.out);
      expect(rejected).toBe(st.records.rejected);
    }
    const mapRejects = (await decodeUrl(s3, (await manifestOf(s3, part(run, 'map', 'messy.csv'))).rejects!.url)) as { reason: string; index: number }[];
    expect(mapRejects.map((r) => [r.index, r.reason])).toEqual([
      [1, 'Flight Date "not a date" is not a date'],
      [2, 'Airport Name is empty'],
      [3, 'Cost Total $ "lots" is not a whole number of dollars'],
    ]);
  });

  it('writes a manifest per partition with counts, inputs, fingerprint and the output sha256', async () => {
    const fp = loadSchema('birdstrike_enriched@1').fingerprint;
    const runm = await runOf(s3, first);
    for (const p of runm.committed.enrich) {
      const m = await getJson<PartitionManifest>(s3, p.manifest);
      expect(m).toMatchObject({ kind: 'partflow.partition', stage: 'enrich', partition: p.partition, name: p.name, codeVersion: '1', contentVersion: p.contentVersion, schema: { ref: 'birdstrike_enriched@1', fingerprint: fp } });
      expect(p.partition).toMatch(/^p-[0-9a-f]{12}$/);
      expect(m.counts.in).toBe(m.counts.out + m.counts.rejected + m.counts.dropped);
      expect(m.inputs).toEqual([expect.objectContaining({ url: part(runm, 'map', p.name).output, version: part(runm, 'map', p.name).contentVersion })]);
      const out = await getUrl(s3, m.output.url);
      expect(sha256(out)).toBe(m.output.sha256);
      expect(out.length).toBe(m.output.bytes);
    }
    const run = await getJson<RunManifest>(s3, first.manifest);
    expect(run).toMatchObject({ kind: 'partflow.run', status: 'completed', pipeline: 'birdstrikes', partitions: 5 });
    expect(run.committed.enrich).toHaveLength(5);
    expect(run.committed.enrich.every((c) => c.result === 'computed' && c.runId === run.runId && c.codeVersion === '1')).toBe(true);
    expect(run.stages.enrich.records).toEqual(first.stages.enrich.records);
  });

  it('gives byte-identical outputs when the same input is ingested again', async () => {
    const second = await run({ pipeline: 'birdstrikes', source: `s3://${BUCKET}/incoming/birdstrikes/`, target: `s3://${BUCKET}/run-b/`, partitionRecords: 3000, maxParallel: 2 }, 'bird-b');
    const [ra, rb] = [await runOf(s3, first), await runOf(s3, second)];
    for (const stage of ['raw', 'map', 'enrich']) {
      expect(second.stages[stage].output.replace('/run-b/', '/run-a/')).toBe(first.stages[stage].output);
      expect(rb.committed[stage]).toHaveLength(5);
      for (const p of rb.committed[stage]) {
        const q = part(ra, stage, p.name);
        expect(p.output.replace('/run-b/', '/run-a/')).toBe(q.output); // same inputs, same keys
        expect(sha256(await getUrl(s3, p.output))).toBe(sha256(await getUrl(s3, q.output)));
      }
    }
  });

  it('reuses every committed partition when the same ingest runs again into the same target', async () => {
    const again = await run({ pipeline: 'birdstrikes', source: `s3://${BUCKET}/incoming/birdstrikes/`, target: `s3://${BUCKET}/run-a/`, partitionRecords: 3000 }, 'bird-a-again');
    expect(again.status).toBe('completed');
    for (const s of Object.values(again.stages)) expect(s.skipped).toBe(5);
    expect(again.stages.enrich.records).toEqual(first.stages.enrich.records);
  });

  it.each([
    ['cannot be parsed', 'bad-airports.csv', 'iata,"name,city\nNAS,Nashville\n', 'cannot be read as CSV: Quote Not Closed'],
    ['lacks the columns the pipeline declares', 'other-export.csv', 'a,b,c\n1,2,3\n', 'lacks the columns "iata", "name", "city", "state" the pipeline needs \\(it has "a", "b", "c"\\)'],
  ])('a lookup table that %s fails its stage once per partition, for good, naming the lookup, its object and the cause', async (_, file, body, cause) => {
    await put(`reference/${file}`, body);
    const url = `s3://${BUCKET}/reference/${file}`;
    const r = await run({ pipeline: 'birdstrikes', source: `s3://${BUCKET}/incoming/birdstrikes/`, target: `s3://${BUCKET}/run-${file}/`, partitionRecords: 3000, params: { 'lookup.airports': url }, waitForRetry: '0' }, `bird-${file}`);
    expect(r.status).toBe('partial');
    expect(r.stages.map.succeeded).toBe(5);
    expect(r.stages.enrich.failures).toHaveLength(5);
    for (const f of r.stages.enrich.failures) {
      expect(f.attempts).toBe(1); // retrying reads the same pinned bytes: not retried
      expect(f.error).toMatch(new RegExp(`stage setup failed: lookup "airports": ${url.replace(/[./]/g, '\\$&')} ${cause}`));
    }
  });

  it('outputs are read by fastavro with the same records', async () => {
    const run = await runOf(s3, first);
    const files: Record<string, Buffer> = {};
    for (const stage of ['raw', 'map', 'enrich']) files[stage] = await getUrl(s3, part(run, stage, 'birdstrikes.csv#2/4').output);
    files.rejects = await getUrl(s3, (await manifestOf(s3, part(run, 'map', 'messy.csv'))).rejects!.url);
    const py = fastavroRead(files);
    for (const stage of ['raw', 'map', 'enrich']) {
      const ours = await decodeUrl(s3, part(run, stage, 'birdstrikes.csv#2/4').output);
      expect(py[stage].codec).toBe('zstandard');
      expect(py[stage].count).toBe(ours.length);
      expect(py[stage].records).toEqual(JSON.parse(JSON.stringify(ours)));
    }
    expect(py.rejects.count).toBe(3);
  });
});

describe('other sources and DAGs', () => {
  it('copies Avro sources unchanged (the copy pipeline) and reads them with their own schema', async () => {
    const csv = await runOf(s3, await run({ pipeline: 'copy', source: `s3://${BUCKET}/incoming/birdstrikes/birdstrikes.csv`, target: `s3://${BUCKET}/copy-csv/`, partitionRecords: 4000 }, 'copy-csv'));
    // A stage's output folder as a source: partflow's manifests and rejects beside the outputs are not read.
    // A large partitionBytes: whether the default's packs close between three objects of tens of KB
    // turns on their keys' hashes (see pack.ts), and the keys hold partition ids.
    const copied = await run({ pipeline: 'copy', source: csv.stages.raw.output, target: `s3://${BUCKET}/copy-avro/`, dataset: 'recopy', partitionBytes: 64 * 1024 ** 2 }, 'copy-avro');
    expect(copied.status).toBe('completed');
    expect(copied.partitions).toBeLessThan(3); // three small objects, packed
    expect(copied.stages.raw).toBeUndefined(); // Avro sources are used as they are
    expect(copied.stages.copy.records).toEqual({ in: 10_000, out: 10_000, rejected: 0, dropped: 0 });
    // Partitions in plan order, each reading its pieces in key order: the records of the inputs in key order.
    const inputs = [...csv.committed.raw].sort((a, b) => (a.output < b.output ? -1 : 1));
    const expected = [];
    for (const p of inputs) expected.push(...(await decodeUrl(s3, p.output)));
    const got = [];
    for (const p of (await runOf(s3, copied)).committed.copy) got.push(...(await decodeUrl(s3, p.output)));
    expect(got).toEqual(expected);
  });

  it('runs a fan-in DAG over JSON Lines: drops, rejects, and reads from two stages', async () => {
    const lines = Array.from({ length: 25 }, (_, i) => JSON.stringify({ id: i + 1, label: `item ${i + 1}` })).join('\n');
    await put('incoming/items/items.jsonl', lines);
    const r = await run({ pipeline: 'fanin', source: `s3://${BUCKET}/incoming/items/`, target: `s3://${BUCKET}/fanin/`, partitionRecords: 10, maxParallel: 3 }, 'fanin');
    expect(r.status).toBe('completed');
    expect(r.partitions).toBe(3);
    expect(r.stages.evens.records).toEqual({ in: 25, out: 12, rejected: 0, dropped: 13 });
    expect(r.stages.shout.records).toEqual({ in: 25, out: 20, rejected: 5, dropped: 0 });
    expect(r.stages.joined.records).toEqual({ in: 32, out: 32, rejected: 0, dropped: 0 });
    const fr = await runOf(s3, r);
    const p0 = (await decodeUrl(s3, part(fr, 'joined', 'items.jsonl#1/3').output)) as { id: number; from: string; label: string }[];
    expect(p0.filter((x) => x.from === 'evens').map((x) => x.id)).toEqual([2, 4, 6, 8, 10]);
    expect(p0.filter((x) => x.from === 'shout').map((x) => x.label)).toEqual(['ITEM 1', 'ITEM 2', 'ITEM 3', 'ITEM 4', 'ITEM 6', 'ITEM 7', 'ITEM 8', 'ITEM 9']);
    const shout = fastavroRead({ s: await getUrl(s3, part(fr, 'shout', 'items.jsonl#1/3').output), e: await getUrl(s3, part(fr, 'evens', 'items.jsonl#1/3').output) });
    expect([shout.s.codec, shout.e.codec]).toEqual(['snappy', 'deflate']);
  });

  it('rejects records whose output does not fit the schema, naming the field', async () => {
    await put('incoming/small/small.jsonl', [1, 2, 3, 4].map((id) => JSON.stringify({ id, label: `l${id}` })).join('\n'));
    const r = await run({ pipeline: 'badout', source: `s3://${BUCKET}/incoming/small/`, target: `s3://${BUCKET}/badout/` }, 'badout');
    // A cyclic output is a reject too, not a partition failed (and retried) on JSON.stringify's TypeError.
    expect(r.status).toBe('completed');
    expect(r.stages.label.failed).toBe(0);
    expect(r.stages.label.records).toEqual({ in: 4, out: 2, rejected: 2, dropped: 0 });
    const br = await runOf(s3, r);
    const [rej, cyclic] = (await decodeUrl(s3, (await manifestOf(s3, part(br, 'label', 'small.jsonl'))).rejects!.url)) as { reason: string; index: number; record: string; source: string }[];
    expect(rej.index).toBe(2);
    expect(rej.reason).toMatch(/output does not match schema: label: 42 is not a string/);
    expect(JSON.parse(rej.record)).toEqual({ id: 3, label: 'l3' });
    expect(rej.source).toBe(part(br, 'raw', 'small.jsonl').output);
    expect(cyclic.index).toBe(3);
    expect(cyclic.reason).toBe('output does not match schema: label: {"a":1,"self":[Circular]} is not a string');
  });

  it('writes a valid, empty Avro file for a partition with no records', async () => {
    await put('incoming/empty/empty.csv', 'a,b\n');
    const r = await run({ pipeline: 'copy', source: `s3://${BUCKET}/incoming/empty/`, target: `s3://${BUCKET}/empty/` }, 'empty');
    expect(r.partitions).toBe(1);
    expect(r.stages.copy.records).toEqual({ in: 0, out: 0, rejected: 0, dropped: 0 });
    const out = part(await runOf(s3, r), 'copy', 'empty.csv').output;
    const buf = await getUrl(s3, out);
    expect(buf.length).toBeGreaterThan(0);
    expect(await decodeUrl(s3, out)).toEqual([]);
    expect(fastavroRead({ e: buf }).e.count).toBe(0);
  });

  it('fails only the partition whose Avro input is corrupt, naming object and partition', async () => {
    const src = `s3://${BUCKET}/corrupt-src/`;
    const small = await run({ pipeline: 'copy', source: `s3://${BUCKET}/incoming/small/`, target: `s3://${BUCKET}/small-copy/` }, 'small-copy');
    const okFile = await getUrl(s3, part(await runOf(s3, small), 'copy', 'small.jsonl').output);
    await put('corrupt-src/a.avro', okFile);
    const broken = Buffer.from(okFile);
    broken[broken.length - 3] ^= 0xff; // inside the last sync marker
    await put('corrupt-src/b.avro', broken);
    // Small partitions, so that each object is a partition of its own.
    const r = await run({ pipeline: 'copy', source: src, target: `s3://${BUCKET}/corrupt-out/`, waitForRetry: '0', partitionBytes: 1024 }, 'corrupt');
    expect(r.status).toBe('partial');
    expect(r.stages.copy.succeeded).toBe(1);
    expect(r.stages.copy.failed).toBe(1);
    expect(r.stages.copy.failures[0].name).toBe('b.avro');
    expect(r.stages.copy.failures[0].error).toMatch(/stage "copy" partition p-[0-9a-f]{12} \(b\.avro\): corrupt input: s3:\/\/it-ingest\/corrupt-src\/b\.avro: sync marker mismatch/);
  });

  it('a flat object planning cannot read fails only its own partition; the others are ingested', async () => {
    const rows = (from: number) => 'id,name\n' + Array.from({ length: 50 }, (_, i) => `${from + i},row ${from + i}\n`).join('');
    const truncated = gzipSync(rows(0));
    await put('gz-src/a-trunc.csv.gz', truncated.subarray(0, truncated.length - 12));
    await put('gz-src/b-good.csv.gz', gzipSync(rows(100)));
    await put('gz-src/c-good.csv.gz', gzipSync(rows(200)));
    const r = await run({ pipeline: 'copy', source: `s3://${BUCKET}/gz-src/`, target: `s3://${BUCKET}/gz-out/`, waitForRetry: '0' }, 'gz-corrupt');
    expect(r.status).toBe('partial');
    expect(r.stages.raw.failures).toHaveLength(1);
    expect(r.stages.raw.failures[0]).toMatchObject({ name: 'a-trunc.csv.gz', attempts: 1 });
    expect(r.stages.raw.failures[0].error).toMatch(/^stage "raw" partition p-[0-9a-f]{12} \(a-trunc\.csv\.gz\): corrupt input, found while planning: s3:\/\/it-ingest\/gz-src\/a-trunc\.csv\.gz: not a valid gzip stream/);
    // The readable objects went through (packed together: small, same schema), every record of them counted.
    expect(r.stages.copy.records).toEqual({ in: 100, out: 100, rejected: 0, dropped: 0 });
    expect(r.stages.copy.blocked).toBe(1);
  });

  it('a prefix whose flat objects are all unreadable fails planning, naming them', async () => {
    await put('gz-bad/x.csv.gz', Buffer.from('not gzip at all'));
    const e = await failure({ pipeline: 'copy', source: `s3://${BUCKET}/gz-bad/` }, 'gz-all-bad');
    expect(e.type).toBe('CorruptInput');
    expect(e.message).toMatch(/no source object under s3:\/\/it-ingest\/gz-bad\/ can be read: s3:\/\/it-ingest\/gz-bad\/x\.csv\.gz: /);
  });
});

describe('bad workflow input fails fast with a clear, non-retryable error', () => {
  it.each([
    [{ source: `s3://${BUCKET}/x/` }, 'InvalidInput', /"pipeline" is required/],
    [{ pipeline: 'copy', source: 's3://Bad/x' }, 'InvalidInput', /bad bucket name/],
    [{ pipeline: 'copy', source: `s3://${BUCKET}/a/../b` }, 'InvalidInput', /"\.\." segments/],
    [{ pipeline: 'copy', source: `s3://${BUCKET}/x/`, maxParallel: 0 }, 'InvalidInput', /maxParallel must be an integer from 1 to 1000/],
    [{ pipeline: 'nope', source: `s3://${BUCKET}/incoming/small/` }, 'UnknownPipeline', /unknown pipeline "nope" \(registered on this worker: badout, birdstrikes, copy, fanin\)/],
    [{ pipeline: 'copy', source: `s3://${BUCKET}/nothing-here/` }, 'SourceEmpty', /no source objects under s3:\/\/it-ingest\/nothing-here\//],
    [{ pipeline: 'birdstrikes', source: `s3://${BUCKET}/incoming/birdstrikes/`, params: { 'lookup.airport': `s3://${BUCKET}/reference/airports.csv` } }, 'InvalidInput', /params "lookup\.airport": pipeline "birdstrikes" has the lookups airports \(set params\["lookup\.<name>"\] to move one\)/],
    [{ pipeline: 'copy', source: `s3://${BUCKET}/incoming/small/`, params: { 'lookup.x': 's3://bkt/x.csv' } }, 'InvalidInput', /params "lookup\.x": pipeline "copy" has no lookup tables/],
    // Planning's check (the workflow's own resolving lets such a name through, for runs that replay).
    [{ pipeline: 'copy', source: `s3://${BUCKET}/in/${'n'.repeat(130)}.csv` }, 'InvalidInput', /the dataset name taken from the source \("n{40}…", 130 characters\) is over the 128 characters a dataset name may have: give "dataset"/],
  ])('%p -> %s', async (input, type, msg) => {
    const e = await failure(input, `bad-${type}-${Math.random().toString(36).slice(2, 7)}`);
    expect(e.type).toBe(type);
    expect(e.message).toMatch(msg);
  });
});

describe('the temporal CLI', () => {
  it('starts the README example ingest with `temporal workflow start`', async () => {
    const readme = fs.readFileSync(require.resolve('../../README.md'), 'utf8');
    const m = /temporal workflow start[^\n]*\\\n(?:[^\n]*\\\n)*[^\n]*--input '([^']+)'/.exec(readme);
    expect(m).not.toBeNull();
    const input = JSON.parse(m![1]) as IngestInput;
    expect(input.pipeline).toBe('birdstrikes');
    // The README targets the embedded stack's bucket; point it at this test's bucket.
    const text = JSON.stringify(input).replace(/s3:\/\/partflow\//g, `s3://${BUCKET}/`);
    const id = `cli-${process.pid}`;
    execFileSync(toolPath('temporal'), [
      'workflow', 'start', '--address', h.cfg.temporalAddress, '--type', 'ingest', '--task-queue', h.cfg.taskQueue, '--workflow-id', id, '--input', text,
    ], { stdio: 'pipe' });
    const result = (await h.client.workflow.getHandle(id).result()) as IngestSummary;
    expect(result.status).toBe('completed');
    expect(result.stages.enrich.records.out).toBe(10_002);
  });
});
