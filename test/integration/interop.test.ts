import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Type } from 'avsc';
import path from 'node:path';
import { CODECS, CodecName } from '../../src/avro/codecs';
import { ContainerEncoder, syncMarkerFor } from '../../src/avro/container';
import { loadSchema } from '../../src/avro/schemas';
import { IngestSummary } from '../../src/manifest/run';
import { INHERIT_SCHEMA, PipelineDefinition } from '../../src/pipeline/types';
import { s3Client } from '../../src/storage/client';
import { avroTools, avroToolsRecords } from '../helpers/avro-tools';
import { decodeAll } from '../helpers/avro';
import { fastavroRead, fastavroWrite } from '../helpers/fastavro';
import { decodeUrl, getUrl } from '../helpers/s3';
import { executeWithin } from '../helpers/pending';
import { runOf } from '../helpers/runs';
import { startHarness, TestHarness } from '../helpers/stack';

const BUCKET = 'it-interop';
const schemasDir = path.join(__dirname, '../fixtures/schemas');

// One copy pipeline per codec: the codec is a per-pipeline (and per-stage) setting.
const codecPipelines: PipelineDefinition[] = CODECS.map((codec) => ({
  name: `copy-${codec}`, codec, stages: [{ name: 'copy', schema: INHERIT_SCHEMA, version: '1', transform: (r: unknown) => r }],
}));

// Reads v1 Avro sources as item@2: the new field comes from its default.
const evolvePipeline: PipelineDefinition = {
  name: 'evolve', schemasDir, input: 'item@2',
  stages: [{ name: 'price', schema: 'item@2', version: '1', transform: (r: { id: number; label: string; currency: string }) => ({ ...r, label: `${r.label} (${r.currency})` }) }],
};

let h: TestHarness;
let s3: S3Client;

async function run(pipeline: string, source: string, id: string): Promise<IngestSummary> {
  return executeWithin<IngestSummary>(h.client, 'ingest', {
    taskQueue: h.cfg.taskQueue, workflowId: `${id}-${process.pid}`,
    args: [{ pipeline, source: `s3://${BUCKET}/${source}`, target: `s3://${BUCKET}/out/`, dataset: id }],
  }, 120_000);
}

beforeAll(async () => {
  h = await startHarness('interop', [...codecPipelines, evolvePipeline], { bucket: BUCKET });
  s3 = s3Client(h.cfg.s3);
  const lines = Array.from({ length: 3000 }, (_, i) => JSON.stringify({
    id: i, name: i % 11 ? `naïve café ${i} 🐦` : null, price: i / 4, active: i % 2 === 0, tags: i % 5 ? ['a', `t${i}`] : [],
  }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'in/rows/rows.jsonl', Body: lines.join('\n') }));
});

afterAll(async () => {
  await h?.stop();
});

describe('outputs in every codec are read by fastavro and by the Apache Avro Java tools', () => {
  it.each(CODECS)('%s', async (codec: CodecName) => {
    const r = await run(`copy-${codec}`, 'in/rows/', `rows-${codec}`);
    expect(r.status).toBe('completed');
    const url = (await runOf(s3, r)).committed.copy[0].output;
    const buf = await getUrl(s3, url);
    const ours = JSON.parse(JSON.stringify(await decodeUrl(s3, url))) as unknown[];
    expect(ours).toHaveLength(3000);
    expect(ours[11]).toEqual({ id: 11, name: null, price: 2.75, active: false, tags: '["a","t11"]' });

    const py = fastavroRead({ f: buf }).f;
    expect(py.codec).toBe(codec);
    expect(py.records).toEqual(ours);

    expect(avroTools('getmeta', buf)).toMatch(new RegExp(`avro\\.codec\\s+${codec}`));
    expect(avroTools('count', buf).trim()).toBe('3000');
    expect(avroToolsRecords(buf)).toEqual(ours);
  });

  it('writes a zero-record output that the Java tools accept', async () => {
    // A header without rows: a file with no records at all is left out of the plan instead.
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'in/none/none.csv', Body: 'id,name\n' }));
    const r = await run('copy-snappy', 'in/none/', 'none');
    const buf = await getUrl(s3, (await runOf(s3, r)).committed.copy[0].output);
    expect(avroTools('count', buf).trim()).toBe('0');
    expect(fastavroRead({ f: buf }).f.count).toBe(0);
  });
});

describe('unions of a long and another number type', () => {
  it('are copied exactly, with a long past 2^53 in the block', async () => {
    const schema = { type: 'record', name: 'U', fields: [
      { name: 'a', type: ['int', 'long'] }, { name: 'b', type: ['long', 'double'] }, { name: 'c', type: ['long', 'float'] }, { name: 'd', type: ['null', 'long', 'double'] },
    ] };
    // fastavro picks the first branch a value fits: 5 is the int of a, the long of b, c and d.
    const big = '1152921504606846977';
    const rows = `[{"a":5,"b":5,"c":5,"d":5},{"a":9007199254740991,"b":9007199254740991,"c":9007199254740991,"d":9007199254740991},`
      + `{"a":${big},"b":${big},"c":${big},"d":${big}},{"a":1,"b":1.5,"c":1.5,"d":null}]`;
    const input = fastavroWrite(schema, rows);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'in/unions/u.avro', Body: input }));
    const r = await run('copy-null', 'in/unions/', 'unions');
    expect(r.stages.copy.records).toEqual({ in: 4, out: 4, rejected: 0, dropped: 0 });
    const out = await getUrl(s3, (await runOf(s3, r)).committed.copy[0].output);
    // Same values, each in the branch fastavro wrote it in, to the last digit of the big long.
    const copied = await decodeAll(out);
    expect(copied).toEqual(await decodeAll(input));
    expect(copied[2]).toEqual({ a: { long: BigInt(big) }, b: { long: BigInt(big) }, c: { long: BigInt(big) }, d: { long: BigInt(big) } });
    expect(copied[0]).toEqual({ a: { int: 5 }, b: { long: 5 }, c: { long: 5 }, d: { long: 5 } });
    const py = fastavroRead({ input, out });
    expect(py.out.records).toEqual(py.input.records);
  });
});

describe('schema evolution', () => {
  it('reads raw data written with v1 of a schema through a pipeline that expects v2', async () => {
    const v1 = loadSchema('item@1', schemasDir);
    for (let f = 0; f < 2; f++) {
      const enc = new ContainerEncoder(v1.type, v1.json, { codec: 'deflate', sync: syncMarkerFor(`v1-${f}`) });
      const parts = [enc.header()];
      for (let i = 0; i < 100; i++) parts.push(enc.add({ id: f * 100 + i, label: `item ${i}` }) ?? Buffer.alloc(0));
      parts.push(enc.flush() ?? Buffer.alloc(0));
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `in/v1/part-${f}.avro`, Body: Buffer.concat(parts) }));
    }
    const r = await run('evolve', 'in/v1/', 'evolve');
    expect(r.status).toBe('completed');
    expect(r.stages.price.records).toEqual({ in: 200, out: 200, rejected: 0, dropped: 0 });
    // Both small v1 files are packed into one partition, read in key order.
    const [price] = (await runOf(s3, r)).committed.price;
    const out = (await decodeUrl(s3, price.output)) as { id: number; label: string; currency: string }[];
    expect(out[100]).toEqual({ id: 100, label: 'item 0 (EUR)', currency: 'EUR' });
    const javaSchema = JSON.parse(avroTools('getschema', await getUrl(s3, price.output)));
    expect(Type.forSchema(javaSchema).equals(loadSchema('item@2', schemasDir).type)).toBe(true);
  });
});
