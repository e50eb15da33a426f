import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import { Type } from 'avsc';
import path from 'node:path';
import { createActivities } from '../../activities';
import { ContainerEncoder, syncMarkerFor } from '../../src/avro/container';
import { ContainerReader } from '../../src/avro/container-reader';
import { closeDecodeGuard, decodeGuard } from '../../src/avro/decode-guard';
import { PartitionResult } from '../../src/manifest/partition';
import { PipelineDefinition } from '../../src/pipeline/types';
import { resolveIngestInput } from '../../src/pipeline/input';
import { PlanSummary } from '../../src/pipeline/plan';
import { PipelineRegistry } from '../../src/pipeline/registry';
import { builtinPipelines } from '../../src/pipelines';
import { ensureBucket } from '../../src/stack/embedded';
import { s3Client } from '../../src/storage/client';
import { chunked, encodeFile } from '../helpers/avro';
import { decodeUrl, getUrl } from '../helpers/s3';
import { testConfig } from '../helpers/stack';

/**
 * A legal Avro source whose one block decodes to more than the decode guard's heap, through the
 * real stage activity and S3: the partition fails as CorruptInput, and the same worker goes on.
 */
const BUCKET = 'it-decode-guard';
const cfg = testConfig('decode-guard', BUCKET);
let s3: S3Client;
// One worker's activities for the whole file: the good partition runs where the poison one failed.
let acts: ReturnType<typeof createActivities>;
const env = () => new MockActivityEnvironment({ activityId: 'copy:p-00000', retryPolicy: { maximumAttempts: 3 } }, { logger: new DefaultLogger('ERROR') });
const zig = (n: number) => Type.forSchema('long').toBuffer(n);
const ints = Type.forSchema({ type: 'record', name: 'Ints', fields: [{ name: 'xs', type: { type: 'array', items: 'int' } }] });
const saved = process.env.PARTFLOW_DECODE_HEAP_MB;
// A pipeline that reads its sources through a reader schema of its own (README: input reader schema).
const evolved: PipelineDefinition = {
  name: 'evolved', schemasDir: path.join(__dirname, '../fixtures/schemas'), input: 'evolved@1',
  stages: [{ name: 'copy', schema: 'evolved@1', version: '1', transform: (r) => r }],
};
// The same with an "@input" stage: its output schema is the pipeline's reader schema.
const evolvedInherit: PipelineDefinition = { ...evolved, name: 'evolved-inherit', stages: [{ ...evolved.stages[0], schema: '@input' }] };
const twoCopies: PipelineDefinition = {
  name: 'two-copies',
  stages: [
    { name: 'first', schema: '@input', version: '1', transform: (r) => r },
    { name: 'second', schema: '@input', version: '1', transform: (r) => r },
  ],
};

beforeAll(async () => {
  // Read when the stage first uses the guard.
  process.env.PARTFLOW_DECODE_HEAP_MB = '32';
  s3 = s3Client(cfg.s3);
  await ensureBucket(s3, BUCKET);
  acts = createActivities({ config: cfg, s3, registry: new PipelineRegistry([...builtinPipelines, twoCopies, evolved, evolvedInherit]) });
});

afterAll(async () => {
  await closeDecodeGuard();
  if (saved === undefined) delete process.env.PARTFLOW_DECODE_HEAP_MB;
  else process.env.PARTFLOW_DECODE_HEAP_MB = saved;
});

// One partition per object: the poison block's object is over the default splitBytes.
async function planFor(key: string, body: Buffer): Promise<PlanSummary> {
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  return env().run(acts.planIngest, resolveIngestInput({ pipeline: 'copy', source: `s3://${BUCKET}/${key}`, target: `s3://${BUCKET}/out/`, splitBytes: 64 * 1024 * 1024 }));
}

describe('the decode guard through the stage activity', () => {
  it('a block that exhausts the guard heap fails its partition as CorruptInput; the worker then copies a good partition', async () => {
    const header = new ContainerEncoder(ints, JSON.stringify(ints.schema()), { codec: 'null', sync: syncMarkerFor('poison') }).header();
    // 16 records of 1M zeros each: 16 MiB of legal data, within every reader limit, that decodes to 16M array slots.
    const record = Buffer.concat([zig(1024 * 1024), Buffer.alloc(1024 * 1024), zig(0)]);
    const body = Buffer.concat(Array.from({ length: 16 }, () => record));
    const poison = await planFor('poison/p.avro', Buffer.concat([header, zig(16), zig(body.length), body, syncMarkerFor('poison')]));
    let err: ApplicationFailure | undefined;
    try {
      await env().run(acts.runStage, { bucket: poison.bucket, planKey: poison.planKey, stage: 'copy', index: 0 });
    } catch (e) {
      err = e as ApplicationFailure;
    }
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err!.type).toBe('CorruptInput');
    expect(err!.nonRetryable).toBe(true);
    expect(err!.message).toMatch(new RegExp(
      `^stage "copy" partition p-[0-9a-f]{12} \\(p\\.avro\\): corrupt input: s3://${BUCKET}/poison/p\\.avro: decoding the block at byte ${header.length} ran out of memory \\(limit 32 MiB, PARTFLOW_DECODE_HEAP_MB\\)$`,
    ));

    const good = await planFor('good/g.avro', encodeFile(ints, Array.from({ length: 500 }, (_, i) => ({ xs: [i, i + 1, i + 2] })), 'null', { blockBytes: 1000, identity: 'good' }));
    const before = decodeGuard()!.checked;
    const result = await env().run(acts.runStage, { bucket: good.bucket, planKey: good.planKey, stage: 'copy', index: 0 });
    expect(result).toMatchObject({ status: 'done', counts: { in: 500, out: 500 } });
    // Its small blocks of int arrays have a small heap bound: none went to the guard.
    expect(decodeGuard()!.checked).toBe(before);
  });

  it('reads a source through the pipeline\'s reader schema as without the guard: enum default, aliases, int to long, dropped and added fields', async () => {
    // An older writer schema of fixtures/schemas/evolved/v1.avsc: its enum has GREEN, which the reader lacks.
    const writer = Type.forSchema({
      type: 'record', name: 'E', namespace: 'com.acme', fields: [
        { name: 'color', type: { type: 'enum', name: 'Color', namespace: 'com.acme.types', symbols: ['RED', 'GREEN', 'UNKNOWN'] } },
        { name: 'inner', type: { type: 'record', name: 'Inner', namespace: 'other.ns', fields: [{ name: 'x', type: 'int' }] } },
        { name: 'fx', type: { type: 'fixed', name: 'F4', size: 4 } },
      ],
    });
    const records = Array.from({ length: 300 }, (_, i) => ({ color: ['RED', 'GREEN', 'UNKNOWN'][i % 3], inner: { x: i }, fx: Buffer.from('abcd') }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'evolved/e.avro', Body: encodeFile(writer, records, 'null', { blockBytes: 1000, identity: 'evolved' }) }));
    const plan = (await env().run(acts.planIngest, resolveIngestInput({ pipeline: 'evolved', source: `s3://${BUCKET}/evolved/e.avro`, target: `s3://${BUCKET}/out-evolved/` }))) as PlanSummary;
    const guard = decodeGuard()!;
    const before = guard.checked;
    const result = (await env().run(acts.runStage, { bucket: plan.bucket, planKey: plan.planKey, stage: 'copy', index: 0 })) as PartitionResult;
    expect(result).toMatchObject({ status: 'done', counts: { in: 300, out: 300 } });
    // Blocks read through resolution have no heap bound: every one went to the guard.
    expect(guard.checked - before).toBeGreaterThanOrEqual(2);
    const out = await decodeUrl(s3, `s3://${plan.bucket}/${result.outputKey}`);
    expect(out).toEqual(Array.from({ length: 300 }, (_, i) => ({ hue: ['RED', 'UNKNOWN', 'UNKNOWN'][i % 3], inner: { x: i }, added: 5 })));

    // An "@input" stage writes the reader schema whole, its enum's default included: a consumer
    // reading the output with a schema that lacks a symbol needs it.
    const inherit = (await env().run(acts.planIngest, resolveIngestInput({ pipeline: 'evolved-inherit', source: `s3://${BUCKET}/evolved/e.avro`, target: `s3://${BUCKET}/out-evolved-inherit/` }))) as PlanSummary;
    const inherited = (await env().run(acts.runStage, { bucket: inherit.bucket, planKey: inherit.planKey, stage: 'copy', index: 0 })) as PartitionResult;
    expect(inherited).toMatchObject({ status: 'done', counts: { in: 300, out: 300 } });
    expect(await decodeUrl(s3, `s3://${inherit.bucket}/${inherited.outputKey}`)).toEqual(out);
    const written = await ContainerReader.open(chunked(await getUrl(s3, `s3://${inherit.bucket}/${inherited.outputKey}`)), { name: 'out.avro' });
    const schema = JSON.parse(written.header.schemaJson) as { fields: { name: string; type: { symbols?: string[]; default?: string } }[] };
    expect(schema.fields[0]).toMatchObject({ name: 'hue', aliases: ['color'], type: { symbols: ['RED', 'BLUE', 'UNKNOWN'], default: 'UNKNOWN' } });
    written.close();
  });

  it('guards the blocks of a source, not those of an upstream stage\'s committed output', async () => {
    // An array of nulls: no heap bound follows from the bytes, so every source block is checked.
    const unbounded = Type.forSchema({ type: 'record', name: 'U', fields: [{ name: 'xs', type: { type: 'array', items: 'int' } }, { name: 'none', type: { type: 'array', items: 'null' }, default: [] }] });
    const records = Array.from({ length: 300 }, (_, i) => ({ xs: [i, 7 - i], none: [] }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'twice/t.avro', Body: encodeFile(unbounded, records, 'null', { blockBytes: 1000, identity: 'twice' }) }));
    const plan = (await env().run(acts.planIngest, resolveIngestInput({ pipeline: 'two-copies', source: `s3://${BUCKET}/twice/t.avro`, target: `s3://${BUCKET}/out-twice/` }))) as PlanSummary;
    const guard = decodeGuard()!;
    const before = guard.checked;
    const first = (await env().run(acts.runStage, { bucket: plan.bucket, planKey: plan.planKey, stage: 'first', index: 0 })) as PartitionResult;
    expect(first).toMatchObject({ status: 'done', counts: { in: 300, out: 300 } });
    const sourceBlocks = guard.checked - before;
    expect(sourceBlocks).toBeGreaterThanOrEqual(2);
    const second = (await env().run(acts.runStage, { bucket: plan.bucket, planKey: plan.planKey, stage: 'second', index: 0, upstream: { first: first.contentVersion } })) as PartitionResult;
    expect(second).toMatchObject({ status: 'done', counts: { in: 300, out: 300 } });
    expect(guard.checked - before).toBe(sourceBlocks);
    const out = (await decodeUrl(s3, `s3://${plan.bucket}/${second.outputKey}`)) as { xs: number[] }[];
    expect(out.map((r) => r.xs)).toEqual(Array.from({ length: 300 }, (_, i) => [i, 7 - i]));
  });
});
