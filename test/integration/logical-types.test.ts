import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { Schema, Type } from 'avsc';
import { createActivities } from '../../activities';
import { ContainerEncoder, syncMarkerFor } from '../../src/avro/container';
import { readAvroRecords } from '../../src/io/avro-object-reader';
import { PartitionResult } from '../../src/manifest/partition';
import { resolveIngestInput } from '../../src/pipeline/input';
import { PlanSummary } from '../../src/pipeline/plan';
import { PipelineRegistry } from '../../src/pipeline/registry';
import { PipelineDefinition } from '../../src/pipeline/types';
import { ensureBucket } from '../../src/stack/embedded';
import { s3Client } from '../../src/storage/client';
import { getObjectBuffer } from '../../src/storage/objects';
import { testConfig } from '../helpers/stack';

/**
 * What a transform gets for Avro logical types, through the real stage activity (README, "Writing
 * your own pipeline"): partflow registers none, so each arrives as its underlying type.
 */
const BUCKET = 'it-logical-types';
const cfg = testConfig('logical-types', BUCKET);
let s3: S3Client;
const schema = {
  type: 'record', name: 'Event', fields: [
    { name: 'price', type: { type: 'bytes', logicalType: 'decimal', precision: 9, scale: 2 } },
    { name: 'fixed_price', type: { type: 'fixed', name: 'Money', size: 8, logicalType: 'decimal', precision: 18, scale: 2 } },
    { name: 'day', type: { type: 'int', logicalType: 'date' } },
    { name: 'at_ms', type: { type: 'int', logicalType: 'time-millis' } },
    { name: 'at_us', type: { type: 'long', logicalType: 'time-micros' } },
    { name: 'ts_ms', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'ts_us', type: { type: 'long', logicalType: 'timestamp-micros' } },
    { name: 'local_ms', type: { type: 'long', logicalType: 'local-timestamp-millis' } },
    { name: 'id', type: { type: 'string', logicalType: 'uuid' } },
  ],
};
const record = {
  price: Buffer.from([0x30, 0x39]), // 12345 unscaled: 123.45
  fixed_price: Buffer.from([0, 0, 0, 0, 0, 0, 0x30, 0x39]),
  day: 20000, at_ms: 3_600_000, at_us: 3_600_000_000, ts_ms: 1_700_000_000_000, ts_us: 1_700_000_000_000_000, local_ms: 1_700_000_000_000,
  id: '123e4567-e89b-12d3-a456-426614174000',
};
const seen: unknown[] = [];
const pipeline = (transform: PipelineDefinition['stages'][0]['transform']): PipelineDefinition => ({ name: 'logical', stages: [{ name: 'copy', schema: '@input', version: '1', transform }] });
const env = () => new MockActivityEnvironment({ activityId: 'copy:p-00000', retryPolicy: { maximumAttempts: 1 } }, { logger: new DefaultLogger('ERROR') });

async function runCopy(def: PipelineDefinition, target: string): Promise<PartitionResult> {
  const acts = createActivities({ config: cfg, s3, registry: new PipelineRegistry([def]) });
  const plan = (await env().run(acts.planIngest, resolveIngestInput({ pipeline: 'logical', source: `s3://${BUCKET}/src/`, target: `s3://${BUCKET}/${target}/` }))) as PlanSummary;
  return (await env().run(acts.runStage, { bucket: plan.bucket, planKey: plan.planKey, stage: 'copy', index: 0 })) as PartitionResult;
}

beforeAll(async () => {
  s3 = s3Client(cfg.s3);
  await ensureBucket(s3, BUCKET);
  const enc = new ContainerEncoder(Type.forSchema(schema as Schema), JSON.stringify(schema), { codec: 'null', sync: syncMarkerFor('logical') });
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'src/a.avro', Body: Buffer.concat([enc.header(), enc.add(record) ?? Buffer.alloc(0), enc.flush() ?? Buffer.alloc(0)]) }));
});

describe('Avro logical types in a transform', () => {
  it('arrive as their underlying types: decimals as Buffers, dates and times as numbers, uuids as strings; written back as they came', async () => {
    const res = await runCopy(pipeline((r) => (seen.push(r), r)), 'out-same');
    expect(res.counts).toEqual({ in: 1, out: 1, rejected: 0, dropped: 0 });
    const [got] = seen as Record<string, unknown>[];
    expect(Buffer.isBuffer(got.price) && Buffer.isBuffer(got.fixed_price)).toBe(true);
    for (const f of ['day', 'at_ms', 'at_us', 'ts_ms', 'ts_us', 'local_ms']) expect(typeof got[f]).toBe('number');
    expect(got).toEqual(record);
    const out = [];
    for await (const { record: r } of readAvroRecords(s3, BUCKET, res.outputKey!)) out.push(r);
    expect(out).toEqual([record]);
    // The header's schema keeps the logical types, for readers that map them (Spark, fastavro).
    const header = (await getObjectBuffer(s3, BUCKET, res.outputKey!)).subarray(0, 2000).toString('latin1');
    expect(header).toContain('"logicalType":"decimal"');
    expect(header).toContain('"logicalType":"timestamp-micros"');
  });

  it('a Date for a timestamp, or a number for a decimal, does not fit the schema: the record is rejected', async () => {
    const res = await runCopy(pipeline((r) => ({ ...r, ts_ms: new Date(r.ts_ms) })), 'out-date');
    expect(res.counts).toEqual({ in: 1, out: 0, rejected: 1, dropped: 0 });
    const dec = await runCopy(pipeline((r) => ({ ...r, price: 123.45 })), 'out-decimal');
    expect(dec.counts).toEqual({ in: 1, out: 0, rejected: 1, dropped: 0 });
  });
});
