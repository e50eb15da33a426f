import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { WorkflowFailedError } from '@temporalio/client';
import { Type } from 'avsc';
import { IngestSummary } from '../../src/manifest/run';
import { IngestInput } from '../../src/pipeline/input';
import { Plan } from '../../src/pipeline/plan';
import { builtinPipelines } from '../../src/pipelines';
import { s3Client } from '../../src/storage/client';
import { fanInPipeline } from '../fixtures/pipelines';
import { encodeFile } from '../helpers/avro';
import { runCli } from '../helpers/cli';
import { runOf } from '../helpers/runs';
import { getJson } from '../helpers/s3';
import { startHarness, TestHarness } from '../helpers/stack';

/** Source objects with no records among good ones, through whole ingests on the real stack. */
const BUCKET = 'it-empty-sources';
let h: TestHarness;
let s3: S3Client;
const url = (key: string) => `s3://${BUCKET}/${key}`;

async function put(key: string, body: string | Buffer): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
}

async function run(input: IngestInput, id: string): Promise<IngestSummary> {
  return h.client.workflow.execute('ingest', { taskQueue: h.cfg.taskQueue, workflowId: `${id}-${process.pid}`, args: [input], workflowExecutionTimeout: '2m' });
}

async function failure(input: IngestInput, id: string): Promise<Error & { type?: string }> {
  try {
    await run(input, id);
  } catch (e) {
    expect(e).toBeInstanceOf(WorkflowFailedError);
    // The deepest failure with a type: a FlatFileError stays beneath its CorruptInput as the cause.
    let typed: Error & { type?: string } = e as Error;
    for (let c = (e as Error & { cause?: Error }).cause as (Error & { cause?: Error; type?: string }) | undefined; c; c = c.cause as typeof c) if (c.type) typed = c;
    return typed;
  }
  throw new Error('expected the workflow to fail');
}

/** Every stage's records add up, and the first stage read `records`. */
function expectCounts(s: IngestSummary, records: number): void {
  expect(s.status).toBe('completed');
  for (const st of Object.values(s.stages)) {
    expect(st.failed).toBe(0);
    expect(st.records.in).toBe(st.records.out + st.records.rejected + st.records.dropped);
  }
  expect(s.stages.raw.records.in).toBe(records);
}

beforeAll(async () => {
  h = await startHarness('empty-sources', [...builtinPipelines, fanInPipeline], { bucket: BUCKET });
  s3 = s3Client(h.cfg.s3);
});

afterAll(async () => {
  await h?.stop();
});

describe('empty source objects are left out of the plan, and said so', () => {
  it('CSV: a 0-byte object (.gz too), blank lines and a lone BOM are left out; a header without rows still counts', async () => {
    await put('csv/a.csv', 'id,label\n1,a\n2,b\n3,c\n');
    await put('csv/b.csv', 'id,label\n4,d\n5,e\n');
    await put('csv/header-only.csv', 'id,label\n');
    await put('csv/zero.csv', '');
    await put('csv/zero.csv.gz', ''); // not even a gzip stream: it failed the plan
    await put('csv/blank.csv', '\n\n\n');
    await put('csv/bom.csv', '\ufeff\r\n');
    const s = await run({ pipeline: 'copy', source: url('csv/'), target: url('out/'), pack: false }, 'csv');
    expectCounts(s, 5);
    expect(s.stages.copy.records.out).toBe(5);
    expect(s.partitions).toBe(3);
    const keys = ['csv/blank.csv', 'csv/bom.csv', 'csv/zero.csv', 'csv/zero.csv.gz'];
    const empty = { count: 4, urls: keys.map(url) };
    expect(s.emptySources).toEqual(empty);
    expect((await runOf(s3, s)).emptySources).toEqual(empty);
    const plan = await getJson<Plan>(s3, s.plan);
    expect(plan.emptySources).toEqual({ count: 4, keys });
    expect(plan.partitions.map((p) => [p.name, p.pieces.map((pc) => pc.records)])).toEqual([['a.csv', [3]], ['b.csv', [2]], ['header-only.csv', [0]]]);
    expect(plan.rawSchemas).toHaveLength(1);
  });

  it('JSON Lines: 0 bytes, blank lines and a BOM line are left out, and no schema without fields reaches the stages', async () => {
    await put('jsonl/good.jsonl', [1, 2, 3, 4].map((id) => JSON.stringify({ id, label: `l${id}` })).join('\n') + '\n');
    await put('jsonl/more.jsonl', '{"id": 10, "label": "ten"}\n');
    await put('jsonl/zero.jsonl', '');
    await put('jsonl/blank.jsonl', '\n  \n\t\r\n');
    await put('jsonl/bom.jsonl', '\ufeff\n');
    const s = await run({ pipeline: 'fanin', source: url('jsonl/'), target: url('out/') }, 'jsonl');
    expectCounts(s, 5);
    expect(s.stages.evens.records.out).toBe(3);
    expect(s.emptySources).toEqual({ count: 3, urls: ['jsonl/blank.jsonl', 'jsonl/bom.jsonl', 'jsonl/zero.jsonl'].map(url) });
    const plan = await getJson<Plan>(s3, s.plan);
    expect(plan.rawSchemas.map((r) => r.fields.map((f) => f.name))).toEqual([['id', 'label']]);
    expect(plan.partitions.flatMap((p) => p.pieces.map((pc) => pc.key))).toEqual(['jsonl/good.jsonl', 'jsonl/more.jsonl']);
  });

  it('JSON: [] and a 0-byte object are left out (a 0-byte .json failed the plan as not valid JSON)', async () => {
    await put('json/good.json', JSON.stringify([{ id: 1, label: 'a' }, { id: 2, label: 'b' }]));
    await put('json/none.json', '[]');
    await put('json/zero.json', '');
    const s = await run({ pipeline: 'copy', source: url('json/'), target: url('out/') }, 'json');
    expectCounts(s, 2);
    expect(s.emptySources).toEqual({ count: 2, urls: [url('json/none.json'), url('json/zero.json')] });
  });

  it('Avro: a 0-byte object is left out unread (it is not even a container); one with no blocks still counts', async () => {
    const item = Type.forSchema({ type: 'record', name: 'Item', fields: [{ name: 'id', type: 'long' }, { name: 'label', type: 'string' }] });
    await put('avro/a.avro', encodeFile(item, [{ id: 1, label: 'a' }, { id: 2, label: 'b' }]));
    await put('avro/none.avro', encodeFile(item, []));
    await put('avro/zero.avro', '');
    const s = await run({ pipeline: 'copy', source: url('avro/'), target: url('out/'), pack: false }, 'avro');
    expect(s.status).toBe('completed');
    expect(s.partitions).toBe(2);
    expect(s.stages.copy.records).toMatchObject({ in: 2, out: 2 });
    expect(s.emptySources).toEqual({ count: 1, urls: [url('avro/zero.avro')] });
  });

  it('when every object is empty the ingest fails as an empty source does, naming them', async () => {
    await put('all-empty/zero.csv', '');
    await put('all-empty/blank.csv', '\r\n\r\n');
    const err = await failure({ pipeline: 'copy', source: url('all-empty/'), target: url('out/') }, 'all-empty');
    expect(err.type).toBe('SourceEmpty');
    expect(err.message).toBe(`no records under ${url('all-empty/')}: all 2 source objects are empty (${url('all-empty/blank.csv')}, ${url('all-empty/zero.csv')})`);
    await put('one-empty.jsonl', '\n');
    const one = await failure({ pipeline: 'copy', source: url('one-empty.jsonl'), target: url('out/') }, 'one-empty');
    expect(one).toMatchObject({ type: 'SourceEmpty', message: `no records under ${url('one-empty.jsonl')}: its one source object is empty (${url('one-empty.jsonl')})` });
    // The CLI prints the cause, without the Temporal wrappers it came through ("Workflow execution failed: Activity task failed: ").
    const cli = await runCli(h.cfg, 'ingest', 'copy', '--source', url('one-empty.jsonl'), '--target', url('out/'), '--workflow-id', `one-empty-cli-${process.pid}`, '--wait');
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain(`\npartflow: no records under ${url('one-empty.jsonl')}: its one source object is empty (${url('one-empty.jsonl')})\n`);
    expect(cli.stderr).not.toMatch(/Workflow execution failed|Activity task failed/);
  });

  it('a CSV whose header row does not parse fails its own partition naming the object, instead of taking the next row as header', async () => {
    await put('bad-header/good.csv', 'id,label\n1,a\n');
    await put('bad-header/bad.csv', 'id,la"bel"\n1,a\n2,b\n');
    const r = await run({ pipeline: 'copy', source: url('bad-header/'), target: url('out/'), waitForRetry: '0' }, 'bad-header');
    expect(r.status).toBe('partial');
    expect(r.stages.raw.failures).toHaveLength(1);
    expect(r.stages.raw.failures[0].name).toBe('bad.csv');
    expect(r.stages.raw.failures[0].error).toMatch(new RegExp(`: corrupt input, found while planning: ${url('bad-header/bad.csv')}: the header row cannot be parsed \\(Invalid Opening Quote`));
    expect(r.stages.copy.records.out).toBe(1);
  });

  it('many empty objects: the plan names the first 100, the summary 10, and partflow ingest --wait prints a few', async () => {
    await put('many/data.csv', 'id,label\n1,a\n');
    const keys = Array.from({ length: 120 }, (_, i) => `many/e-${String(i).padStart(3, '0')}.csv`);
    for (let i = 0; i < keys.length; i += 20) await Promise.all(keys.slice(i, i + 20).map((k) => put(k, '')));
    const id = `many-${process.pid}`;
    const r = await runCli(h.cfg, 'ingest', 'copy', '--source', url('many/'), '--target', url('out/'), '--workflow-id', id, '--wait');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`  left out: 120 empty source objects (no records):\n           ${url(keys[0])}\n`);
    expect(r.stdout).toMatch(/… and 115 more \(the plan names the first 100: s3:\/\/it-empty-sources\/out\/many\/_plans\/[0-9a-f]+\.json\)\n/);
    const s = (await h.client.workflow.getHandle(id).result()) as IngestSummary;
    expectCounts(s, 1);
    expect(s.emptySources).toEqual({ count: 120, urls: keys.slice(0, 10).map(url) });
    expect((await getJson<Plan>(s3, s.plan)).emptySources).toEqual({ count: 120, keys: keys.slice(0, 100) });
  });
});

describe('an object that becomes empty, or stops being empty', () => {
  it('shows as removed, or added, in the next snapshot and in partflow diff', async () => {
    await put('evolve/a.csv', 'id,label\n1,a\n2,b\n');
    await put('evolve/e.csv', '');
    const input: IngestInput = { pipeline: 'copy', source: url('evolve/'), target: url('ds/') };
    const first = await run(input, 'evolve-1');
    expectCounts(first, 2);
    expect(first.emptySources).toEqual({ count: 1, urls: [url('evolve/e.csv')] });
    expect(first.snapshot?.number).toBe(1);

    await put('evolve/a.csv', '\n');
    await put('evolve/e.csv', 'id,label\n3,c\n');
    const second = await run(input, 'evolve-2');
    expectCounts(second, 1);
    expect(second.emptySources).toEqual({ count: 1, urls: [url('evolve/a.csv')] });
    expect(second.snapshot?.number).toBe(2);

    const diff = await runCli(h.cfg, 'diff', url('ds/evolve/'), '1', '2', '--json');
    expect(diff.code).toBe(0);
    const changes = (JSON.parse(diff.stdout) as { changes: { stage: string; change: string; name: string; records: number }[] }).changes;
    expect(changes.map((c) => [c.stage, c.change, c.name]).sort()).toEqual([
      ['copy', 'added', 'e.csv'], ['copy', 'removed', 'a.csv'], ['raw', 'added', 'e.csv'], ['raw', 'removed', 'a.csv'],
    ]);
    const text = await runCli(h.cfg, 'diff', url('ds/evolve/'), '1', '2');
    expect(text.stdout).toMatch(/copy +added +p-[0-9a-f]+ +e\.csv +1 /);
    expect(text.stdout).toMatch(/copy +removed +p-[0-9a-f]+ +a\.csv +\(was s3:/);
  });
});

describe('objects whose names start with "_" or "."', () => {
  it('are skipped under a prefix and said so; named as the source, one is read', async () => {
    await put('under/a.csv', 'id,label\n1,a\n2,b\n');
    await put('under/_late.csv', 'id,label\n3,c\n4,d\n');
    await put('under/_archive/b.csv', 'id,label\n5,e\n');
    await put('under/.hidden.csv', 'id,label\n6,f\n');
    const s = await run({ pipeline: 'copy', source: url('under/'), target: url('ds/') }, 'underscore');
    expectCounts(s, 2);
    // They were left out with no word; a provider's "_late.csv" was lost in silence.
    expect(s.hiddenSources).toEqual({ count: 3, urls: [url('under/.hidden.csv'), url('under/_archive/b.csv'), url('under/_late.csv')] });
    const st = await runCli(h.cfg, 'status', `underscore-${process.pid}`);
    expect(st.stdout).toContain('left out: 3 source objects whose names or folder start with "_" or "." (markers, temporary and hidden files; name one as the source to read it):');
    // Named as the source, it is read: it was refused as "no source objects" though it exists.
    const one = await runCli(h.cfg, 'ingest', 'copy', '--source', url('under/_late.csv'), '--target', url('ds/'), '--dataset', 'late', '--wait');
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/copy +1 ok +0 failed .*records in 2, out 2/);
    // A prefix holding nothing else says what it skipped.
    await put('only/_SUCCESS', '');
    const none = await runCli(h.cfg, 'ingest', 'copy', '--source', url('only/'), '--target', url('ds/'));
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no source objects under s3:\/\/it-empty-sources\/only\//);
    const planned = await failure({ pipeline: 'copy', source: url('only/'), target: url('ds/'), dataset: 'only' }, 'only');
    expect(planned.message).toBe(`no source objects under ${url('only/')} (only 1 whose names start with "_" or ".", which are skipped: ${url('only/_SUCCESS')}; name one such object as the source to read it)`);
  });
});
