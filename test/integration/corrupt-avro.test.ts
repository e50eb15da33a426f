import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import { Type } from 'avsc';
import { createActivities } from '../../activities';
import { ContainerEncoder, syncMarkerFor } from '../../src/avro/container';
import * as zstd from 'zstd-napi/binding';
import { DEFAULT_READ_LIMITS } from '../../src/avro/limits';
import { resolveIngestInput } from '../../src/pipeline/input';
import { PlanSummary } from '../../src/pipeline/plan';
import { PipelineRegistry } from '../../src/pipeline/registry';
import { builtinPipelines } from '../../src/pipelines';
import { ensureBucket } from '../../src/stack/embedded';
import { s3Client } from '../../src/storage/client';
import { testConfig } from '../helpers/stack';

/**
 * Hostile Avro sources through the real stage activity and S3: the worker must survive them and
 * fail the partition as CorruptInput, naming the object and the block.
 */
const BUCKET = 'it-corrupt-avro';
const cfg = testConfig('corrupt-avro', BUCKET);
let s3: S3Client;
const acts = () => createActivities({ config: cfg, s3, registry: new PipelineRegistry(builtinPipelines) });
const env = () => new MockActivityEnvironment({ activityId: 'copy:p-00000', retryPolicy: { maximumAttempts: 3 } }, { logger: new DefaultLogger('ERROR') });
const zig = (n: number) => Type.forSchema('long').toBuffer(n);

beforeAll(async () => {
  s3 = s3Client(cfg.s3);
  await ensureBucket(s3, BUCKET);
});

async function copyError(key: string, body: Buffer): Promise<ApplicationFailure> {
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  const plan: PlanSummary = await env().run(acts().planIngest, resolveIngestInput({ pipeline: 'copy', source: `s3://${BUCKET}/${key}`, target: `s3://${BUCKET}/out/` }));
  try {
    await env().run(acts().runStage, { bucket: plan.bucket, planKey: plan.planKey, stage: 'copy', index: 0 });
  } catch (err) {
    return err as ApplicationFailure;
  }
  throw new Error('expected the stage to fail');
}

describe('hostile Avro sources fail the partition as CorruptInput', () => {
  it('1,000 records of array<null> that each declare 9,999,999 items', async () => {
    const type = Type.forSchema({ type: 'record', name: 'Nulls', fields: [{ name: 'xs', type: { type: 'array', items: 'null' } }] });
    const header = new ContainerEncoder(type, JSON.stringify(type.schema()), { codec: 'null', sync: syncMarkerFor('zero') }).header();
    const body = Buffer.concat(Array.from({ length: 1000 }, () => Buffer.concat([zig(9_999_999), zig(0)])));
    const file = Buffer.concat([header, zig(1000), zig(body.length), body, syncMarkerFor('zero')]);
    expect(file.length).toBeLessThan(5_500);
    const err = await copyError('zero/nulls.avro', file);
    expect(err.type).toBe('CorruptInput');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(new RegExp(`s3://${BUCKET}/zero/nulls\\.avro: record 1 of block: .*items that take no bytes.* \\(at byte ${header.length}\\)`));
  });

  it('2 GiB of zeros in 32 zstd frames that each declare 64 MiB', async () => {
    // One frame of 64 MiB of zeros, compressed 1 MiB at a time with its size pledged.
    const cctx = new zstd.CCtx();
    cctx.setPledgedSrcSize(64 * 1024 * 1024);
    const zeros = Buffer.alloc(1024 * 1024);
    const dst = Buffer.allocUnsafe(zstd.cStreamOutSize());
    const out: Buffer[] = [];
    for (let i = 0; i < 64; i++) {
      let src: Buffer = zeros;
      for (;;) {
        const [ret, produced, consumed] = cctx.compressStream2(dst, src, i === 63 ? zstd.EndDirective.end : zstd.EndDirective.continue);
        out.push(Buffer.from(dst.subarray(0, produced)));
        src = src.subarray(consumed);
        if (src.length === 0 && (i < 63 || ret === 0)) break;
      }
    }
    const frame = Buffer.concat(out);
    const bomb = Buffer.concat(Array.from({ length: 32 }, () => frame));
    const type = Type.forSchema({ type: 'record', name: 'Blob', fields: [{ name: 'b', type: 'bytes' }] });
    const header = new ContainerEncoder(type, JSON.stringify(type.schema()), { codec: 'zstandard', sync: syncMarkerFor('bomb') }).header();
    const file = Buffer.concat([header, zig(1), zig(bomb.length), bomb, syncMarkerFor('bomb')]);
    const err = await copyError('bomb/zstd.avro', file);
    expect(err.type).toBe('CorruptInput');
    expect(err.message).toMatch(new RegExp(`s3://${BUCKET}/bomb/zstd\\.avro: zstandard block inflates past the ${DEFAULT_READ_LIMITS.maxBlockBytes}-byte block limit \\(at byte ${header.length}\\)`));
  });
});
