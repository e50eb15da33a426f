/**
 * The decode guard's cost on the common path: one copy activity over a 500,000-record Avro object
 * in the real S3 server, with PARTFLOW_DECODE_GUARD off and on, alternating, several times.
 *
 *   npm run build && node --expose-gc dist/bench/decode-guard.js [records] [reps] [shape,...]
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { Type } from 'avsc';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createActivities } from '../activities';
import { ContainerEncoder, syncMarkerFor } from '../src/avro/container';
import { closeDecodeGuard } from '../src/avro/decode-guard';
import { loadConfig } from '../src/config';
import { resolveIngestInput } from '../src/pipeline/input';
import { PipelineRegistry } from '../src/pipeline/registry';
import { PartitionResult } from '../src/manifest/partition';
import { PlanSummary } from '../src/pipeline/plan';
import { builtinPipelines } from '../src/pipelines';
import { startEmbeddedStack } from '../src/stack/embedded';
import { freePort } from '../src/stack/process';
import { s3Client } from '../src/storage/client';

/** Records of two shapes: few fields with a long string (bytes-heavy), and many small fields (decode-heavy). */
const SHAPES: Record<string, { type: Type; make: (i: number) => unknown }> = {
  payload: {
    type: Type.forSchema({ type: 'record', name: 'Big', fields: [{ name: 'id', type: 'long' }, { name: 'payload', type: 'string' }] } as never),
    make: (i) => {
      const bytes = Buffer.alloc(200);
      for (let j = 0; j < bytes.length; j += 4) bytes.writeUInt32LE((Math.imul(i + 1, 2654435761) ^ (j * 40503)) >>> 0, j);
      return { id: i, payload: bytes.toString('base64') };
    },
  },
  wide: {
    type: Type.forSchema({
      type: 'record', name: 'Wide', fields: [
        ...Array.from({ length: 8 }, (_, k) => ({ name: `n${k}`, type: 'long' })),
        ...Array.from({ length: 6 }, (_, k) => ({ name: `s${k}`, type: 'string' })),
        ...Array.from({ length: 4 }, (_, k) => ({ name: `d${k}`, type: 'double' })),
        { name: 'opt', type: ['null', 'string'], default: null },
        { name: 'tags', type: { type: 'array', items: 'string' } },
      ],
    } as never),
    make: (i) => {
      const r: Record<string, unknown> = {};
      for (let k = 0; k < 8; k++) r[`n${k}`] = i * (k + 1);
      for (let k = 0; k < 6; k++) r[`s${k}`] = `v${(i * 31 + k) % 997}`;
      for (let k = 0; k < 4; k++) r[`d${k}`] = i / (k + 1);
      r.opt = i % 3 ? null : `o${i}`;
      r.tags = i % 2 ? ['a', 'b'] : ['c'];
      return r;
    },
  },
};

async function putObject(s3: S3Client, bucket: string, key: string, shape: string, records: number): Promise<number> {
  const { type, make } = SHAPES[shape];
  const enc = new ContainerEncoder(type, JSON.stringify(type.schema()), { codec: 'zstandard', sync: syncMarkerFor(key) });
  const parts = [enc.header()];
  for (let i = 0; i < records; i++) {
    const b = enc.add(make(i));
    if (b) parts.push(b);
  }
  parts.push(enc.flush()!);
  const file = Buffer.concat(parts);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: file }));
  return file.length;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const records = Number(process.argv[2] ?? 500_000);
  const reps = Number(process.argv[3] ?? 5);
  const shapes = process.argv[4]?.split(',') ?? Object.keys(SHAPES);
  process.env.PARTFLOW_LOG_LEVEL ??= 'warn';
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-bench-guard-'));
  const cfg = loadConfig({ ...process.env, TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`, AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${await freePort()}`, PARTFLOW_TASK_QUEUE: 'bench' });
  const stack = await startEmbeddedStack(cfg, { dataDir, uiPort: await freePort() });
  const rows: Record<string, string | number>[] = [];
  try {
    const s3 = s3Client(cfg.s3);
    const acts = createActivities({ config: cfg, s3, registry: new PipelineRegistry(builtinPipelines) });
    const quiet = (id: string) => new MockActivityEnvironment({ activityId: id }, { logger: new DefaultLogger('ERROR') });
    for (const shape of shapes) {
      const size = await putObject(s3, cfg.bucket, `bench/guard-${shape}/part-0.avro`, shape, records);
      const secs: Record<string, number[]> = { off: [], on: [] };
      const cpu: Record<string, number[]> = { off: [], on: [] };
      let n = 0;
      for (let rep = 0; rep < reps; rep++) {
        // Alternate, so that drift (the other core's load, S3's caches) hits both alike.
        for (const mode of rep % 2 ? ['on', 'off'] : ['off', 'on']) {
          process.env.PARTFLOW_DECODE_GUARD = mode;
          await closeDecodeGuard();
          const plan: PlanSummary = await quiet('plan').run(acts.planIngest,
            resolveIngestInput({ pipeline: 'copy', source: `s3://${cfg.bucket}/bench/guard-${shape}/`, target: `s3://${cfg.bucket}/bench-guard-${shape}-${mode}-${rep}/` }));
          (global as { gc?: () => void }).gc?.();
          const c0 = process.cpuUsage();
          const t0 = process.hrtime.bigint();
          const r = (await quiet('copy:p-00000').run(acts.runStage, { bucket: plan.bucket, planKey: plan.planKey, stage: 'copy', index: 0 })) as PartitionResult;
          secs[mode].push(Number(process.hrtime.bigint() - t0) / 1e9);
          const c = process.cpuUsage(c0);
          cpu[mode].push((c.user + c.system) / 1e6);
          n = r.counts.in;
        }
      }
      for (const mode of ['off', 'on']) {
        const s = median(secs[mode]);
        rows.push({
          shape, guard: mode, records: n, 'object MiB': Math.round(size / 1048576), 'median s': +s.toFixed(2), 'best s': +Math.min(...secs[mode]).toFixed(2),
          'rec/s': Math.round(n / s), 'CPU s (all threads)': +median(cpu[mode]).toFixed(2),
        });
      }
      const [off, on] = rows.slice(-2).map((r) => r['median s'] as number);
      console.log(`${shape}: the guard costs ${(((on - off) / off) * 100).toFixed(1)}% of the median time`);
    }
  } finally {
    await closeDecodeGuard();
    await stack.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  console.log(`\ndecode guard: one copy activity over ${records} records (zstandard in and out), ${reps} runs each, alternating; ${os.cpus().length} x ${os.cpus()[0]?.model}`);
  console.table(rows);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
