import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import { Schema, Type } from 'avsc';
import { createActivities } from '../../activities';
import { decodeBlock, blockDecoder } from '../../src/avro/container-reader';
import { openAvroPiece } from '../../src/io/avro-object-reader';
import { IngestSummary } from '../../src/manifest/run';
import { IngestInput, resolveIngestInput } from '../../src/pipeline/input';
import { Plan, PlanSummary } from '../../src/pipeline/plan';
import { PipelineRegistry } from '../../src/pipeline/registry';
import { builtinPipelines } from '../../src/pipelines';
import { s3Client } from '../../src/storage/client';
import { encodeFile } from '../helpers/avro';
import { FORGED_IDS, FORGED_SCHEMA, injectFile, swallowFile } from '../helpers/forged-sync';
import { runOf } from '../helpers/runs';
import { decodeUrl, getJson } from '../helpers/s3';
import { startHarness, TestHarness } from '../helpers/stack';

/**
 * Split Avro objects on the real stack: a piece must read exactly the blocks a sequential read
 * of the object finds in its range, even when a value holds the object's sync marker followed by
 * bytes that parse as a block (which fooled the Hadoop-style search for the marker).
 */
const BUCKET = 'it-avro-split';
let h: TestHarness;
let s3: S3Client;

const put = (key: string, body: Buffer) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
const input = (source: string, extra: Partial<IngestInput> = {}): IngestInput => ({
  pipeline: 'copy', source: `s3://${BUCKET}/${source}`, target: `s3://${BUCKET}/out/`, dataset: source.replace(/\W/g, '-'), splitBytes: 1024, ...extra,
});

async function ingest(id: string, source: string, extra: Partial<IngestInput> = {}): Promise<IngestSummary> {
  return (await h.client.workflow.execute('ingest', {
    taskQueue: h.cfg.taskQueue, workflowId: `${id}-${process.pid}`, workflowExecutionTimeout: '2m', args: [input(source, extra)],
  })) as IngestSummary;
}

/** The records of the run's committed outputs of stage `copy`, in partition order. */
async function outputs(summary: IngestSummary): Promise<unknown[]> {
  const run = await runOf(s3, summary);
  const got: unknown[] = [];
  for (const c of run.committed.copy) got.push(...(await decodeUrl(s3, c.output)));
  return got;
}

const acts = () => createActivities({ config: h.cfg, s3, registry: new PipelineRegistry(builtinPipelines) });
const env = () => new MockActivityEnvironment({ activityId: 'plan' }, { logger: new DefaultLogger('ERROR') });
const plan = async (source: string, extra: Partial<IngestInput> = {}) => (await env().run(acts().planIngest, resolveIngestInput(input(source, extra)))) as PlanSummary;

const rowType = Type.forSchema({ type: 'record', name: 'Row', fields: [{ name: 'id', type: 'long' }, { name: 'text', type: 'string' }] });
const rows = Array.from({ length: 4000 }, (_, i) => ({ id: i, text: `row ${i} ${'z'.repeat(i % 61)}` }));
const honest = encodeFile(rowType, rows, 'deflate', { blockBytes: 3000, identity: 'honest' });

beforeAll(async () => {
  h = await startHarness('avro-split', builtinPipelines, { bucket: BUCKET });
  s3 = s3Client(h.cfg.s3);
  await put('inject/inject.avro', injectFile());
  await put('swallow/swallow.avro', swallowFile());
  await put('honest/rows.avro', honest);
});

afterAll(async () => {
  await h?.stop();
});

describe('split Avro objects read exactly the records a sequential read gives', () => {
  it.each(['inject', 'swallow'])('%s: a value holding the sync marker and a forged block is read as the value it is', async (name) => {
    const summary = await ingest(`split-${name}`, `${name}/`);
    expect(summary.status).toBe('completed');
    expect(summary.partitions).toBeGreaterThanOrEqual(4);
    const got = (await outputs(summary)) as { id: number }[];
    expect(got.map((r) => r.id)).toEqual(FORGED_IDS);
    expect(summary.stages.copy.records).toMatchObject({ in: 4, out: 4 });
    // The pieces the old search misread are marked, and carry where their blocks really are.
    const planned = await getJson<Plan>(s3, summary.plan);
    const pieces = planned.partitions.map((p) => p.pieces[0]);
    expect(pieces.every((p) => p.blocks && p.range)).toBe(true);
    expect(pieces.some((p) => p.resynced)).toBe(true);
    expect(planned.walker).toMatchObject({ version: 1 });
  });

  it('an honest object split into many pieces gives every record once, in order', async () => {
    const summary = await ingest('split-honest', 'honest/', { splitBytes: 8 * 1024 });
    expect(summary.status).toBe('completed');
    expect(summary.partitions).toBeGreaterThanOrEqual(5);
    expect(await outputs(summary)).toEqual(rows);
    const planned = await getJson<Plan>(s3, summary.plan);
    expect(planned.partitions.some((p) => p.pieces[0].resynced)).toBe(false);
  });

  it('a piece of a plan made before the walk (its range only) is read as before', async () => {
    const summary = await plan('honest/', { splitBytes: 8 * 1024, dataset: 'old-pieces' });
    const planned = await getJson<Plan>(s3, `s3://${BUCKET}/${summary.planKey}`);
    const read = async (piece: { range?: [number, number]; blocks?: [number, number] }) => {
      const { reader, end } = await openAvroPiece(s3, BUCKET, 'honest/rows.avro', piece);
      const out: unknown[] = [];
      for await (const b of reader.blocks()) {
        if (b.offset >= end) break;
        out.push(...decodeBlock(reader.opts.name, b, blockDecoder(reader.header.writerType)));
      }
      reader.close();
      return out;
    };
    const byRange: unknown[] = [];
    const byBlocks: unknown[] = [];
    for (const p of planned.partitions) {
      byRange.push(...(await read({ range: p.pieces[0].range })));
      byBlocks.push(...(await read({ range: p.pieces[0].range, blocks: p.pieces[0].blocks })));
    }
    expect(byRange).toEqual(rows);
    expect(byBlocks).toEqual(rows);
  });

  it('a retry resumes a walked piece at the block its checkpoint reached, and still stops where the next piece starts', async () => {
    const summary = await plan('honest/', { splitBytes: 8 * 1024, dataset: 'resume-pieces' });
    const { pieces: [piece] } = (await getJson<Plan>(s3, `s3://${BUCKET}/${summary.planKey}`)).partitions[1];
    const offsets: number[] = [];
    const all: unknown[] = [];
    const whole = await openAvroPiece(s3, BUCKET, 'honest/rows.avro', { range: piece.range, blocks: piece.blocks });
    for await (const b of whole.reader.blocks()) {
      offsets.push(b.offset);
      all.push(decodeBlock(whole.reader.opts.name, b, blockDecoder(whole.reader.header.writerType)));
    }
    expect(offsets.length).toBeGreaterThan(1);
    expect(offsets[0]).toBe(piece.blocks![0]);
    const resumed = await openAvroPiece(s3, BUCKET, 'honest/rows.avro', { range: piece.range, blocks: piece.blocks, at: offsets[1] });
    const rest: unknown[] = [];
    for await (const b of resumed.reader.blocks()) rest.push(decodeBlock(resumed.reader.opts.name, b, blockDecoder(resumed.reader.header.writerType)));
    expect(rest).toEqual(all.slice(1));
  });
});

describe('walking at planning', () => {
  it('reuses the walks of unchanged objects from the plan behind the latest snapshot, and gives the very same plan', async () => {
    const first = await ingest('walk-first', 'honest/', { splitBytes: 8 * 1024, dataset: 'reuse' });
    expect(first.status).toBe('completed');
    const again = await plan('honest/', { splitBytes: 8 * 1024, dataset: 'reuse' });
    expect(again.walks).toEqual({ walked: 0, reused: 1 });
    expect(`s3://${BUCKET}/${again.planKey}`).toBe(first.plan);
    // Other ranges (another splitBytes) are walked again.
    expect((await plan('honest/', { splitBytes: 16 * 1024, dataset: 'reuse' })).walks).toEqual({ walked: 1, reused: 0 });
  });

  it('a split object that cannot be walked is a partition of its own that fails as CorruptInput naming the byte; the others are read', async () => {
    const cut = honest.subarray(0, 20_000);
    await put('mixed/a-cut.avro', cut);
    await put('mixed/b-ok.avro', encodeFile(Type.forSchema(FORGED_SCHEMA as Schema), [{ id: 1, payload: Buffer.from('x') }]));
    const summary = await plan('mixed/', { splitBytes: 8 * 1024 });
    expect(summary.sourceObjects).toBe(2);
    // As a flat file's failed scan: the unreadable object's partition comes after the others.
    expect(summary.names).toEqual(['b-ok.avro', 'a-cut.avro']);
    const planned = await getJson<Plan>(s3, `s3://${BUCKET}/${summary.planKey}`);
    expect(planned.partitions[1].unreadable).toMatch(new RegExp(`^s3://${BUCKET}/mixed/a-cut\\.avro: file is truncated: .* \\(at byte \\d+\\)$`));
    const stage = (index: number) => new MockActivityEnvironment({ activityId: `copy:${index}` }, { logger: new DefaultLogger('ERROR') })
      .run(acts().runStage, { bucket: summary.bucket, planKey: summary.planKey, stage: 'copy', index });
    const err = (await stage(1).then(() => null, (e) => e)) as ApplicationFailure;
    expect(err?.type).toBe('CorruptInput');
    expect(err.message).toContain(`s3://${BUCKET}/mixed/a-cut.avro: file is truncated`);
    expect(((await stage(0)) as { counts: unknown }).counts).toMatchObject({ in: 1, out: 1 });
  });

  it('a source whose only objects cannot be walked fails planning as CorruptInput', async () => {
    await put('cut-only/a.avro', honest.subarray(0, 20_000));
    const err = (await plan('cut-only/', { splitBytes: 8 * 1024 }).then(() => null, (e) => e)) as ApplicationFailure;
    expect(err?.type).toBe('CorruptInput');
    expect(err.message).toMatch(/no source object under .* can be read: .*cut-only\/a\.avro: file is truncated/);
  });
});
