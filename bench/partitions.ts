/**
 * Partitioning benchmarks (issue: stable, content-addressed partitions), through the real stack:
 *
 *   small     2,000 Avro objects x 1,000 records through `copy`: one partition per object
 *             (pack: false, the old plan) against packed partitions
 *   rerun     the same packed ingest again, unchanged: records processed must be 0
 *   changed   20 of the 2,000 objects rewritten: records processed and wall time against a full run
 *   mixed     14,000 objects of skewed sizes (1 to 100,000 records): plan time, partitions, wall time
 *   big       one 2M-record Avro object: one partition against the default split (whose
 *             planning walks the object's blocks), then the split again (the walk reused)
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client } from '@temporalio/client';
import { Type } from 'avsc';
import pLimit from 'p-limit';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/config/paths';
import { ContainerEncoder, syncMarkerFor } from '../src/avro/container';
import { Config } from '../src/config';
import { IngestSummary, RunManifest } from '../src/manifest/run';
import { IngestInput } from '../src/pipeline/input';
import { builtinPipelines } from '../src/pipelines';
import { s3Client } from '../src/storage/client';
import { getObjectBuffer } from '../src/storage/objects';
import { parseS3Url } from '../src/storage/s3url';
import { createWorker } from '../src/worker/worker';

type Row = Record<string, string | number>;

export const OFFER = Type.forSchema({
  type: 'record', name: 'Offer', namespace: 'bench', fields: [
    { name: 'id', type: 'long' }, { name: 'merchant', type: 'string' }, { name: 'title', type: 'string' },
    { name: 'price', type: 'double' }, { name: 'currency', type: 'string' }, { name: 'url', type: 'string' },
  ],
} as never);

/** One merchant feed: `n` offers, the bytes a function of (merchant, n, edition) only. */
export function feed(merchant: number, n: number, edition = 0): Buffer {
  const enc = new ContainerEncoder(OFFER, JSON.stringify(OFFER.schema()), { codec: 'zstandard', sync: syncMarkerFor(`feed-${merchant}-${edition}`) });
  const parts = [enc.header()];
  for (let i = 0; i < n; i++) {
    parts.push(enc.add({
      id: merchant * 1_000_000 + i, merchant: `m-${merchant}`, title: `Offer ${i} of merchant ${merchant}${edition ? ` (edition ${edition})` : ''}`,
      price: ((i * 37) % 10_000) / 100, currency: 'EUR', url: `https://shop-${merchant}.example/p/${i}`,
    }) ?? Buffer.alloc(0));
  }
  parts.push(enc.flush() ?? Buffer.alloc(0));
  return Buffer.concat(parts);
}

async function putAll(s3: S3Client, bucket: string, objects: [string, Buffer][]): Promise<void> {
  const limit = pLimit(16);
  await Promise.all(objects.map(([key, body]) => limit(() => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body })))));
}

async function runManifest(s3: S3Client, summary: IngestSummary): Promise<RunManifest> {
  const loc = parseS3Url(summary.manifest);
  return JSON.parse((await getObjectBuffer(s3, loc.bucket, loc.key, 1024 ** 3)).toString('utf8')) as RunManifest;
}

/** Records this run actually read (computed partitions only). */
function processed(run: RunManifest): number {
  return Object.values(run.committed).flat().filter((c) => c.result === 'computed').reduce((n, c) => n + c.counts.in, 0);
}

export async function partitionsBench(cfg: Config, client: Client, which: (n: string) => boolean): Promise<Row[]> {
  const s3 = s3Client(cfg.s3);
  const { worker, connection } = await createWorker({ config: cfg, pipelines: builtinPipelines });
  const running = worker.run();
  const rows: Row[] = [];
  const ingest = async (name: string, input: Partial<IngestInput> & { source: string }): Promise<Row> => {
    const t0 = Date.now();
    const id = `bench-${name}-${Date.now()}`;
    const handle = await client.workflow.start('ingest', { taskQueue: cfg.taskQueue, workflowId: id, args: [{ pipeline: 'copy', maxParallel: 8, ...input }] });
    // Planning ends when the run reports its partitions.
    let planned = 0;
    for (;;) {
      const p = await handle.query<{ phase: string; partitions: number }>('progress').catch(() => undefined);
      if (p && p.phase !== 'planning') { planned = Date.now(); break; }
      await new Promise((r) => setTimeout(r, 50));
    }
    const summary = (await handle.result()) as IngestSummary;
    const secs = (Date.now() - t0) / 1000;
    const run = await runManifest(s3, summary);
    const records = Object.values(summary.stages).reduce((n, s) => Math.max(n, s.records.in), 0);
    const row: Row = { workload: name, partitions: summary.partitions, records, 'records processed': processed(run), 'plan s': (planned - t0) / 1000, seconds: secs, status: summary.status };
    console.log(`  ${name}: ${summary.partitions} partitions, ${records} records, ${row['records processed']} processed, plan ${row['plan s']} s, ${secs} s`);
    return row;
  };
  const keep = (r: Row) => {
    rows.push(r);
    return r;
  };
  try {
    if (which('small') || which('rerun') || which('changed')) {
      console.log('\npartitions: 2,000 Avro objects x 1,000 offers');
      await putAll(s3, cfg.bucket, Array.from({ length: 2000 }, (_, m) => [`bench/small/m-${String(m).padStart(5, '0')}.avro`, feed(m, 1000)]));
      const source = `s3://${cfg.bucket}/bench/small/`;
      const one = keep(await ingest('small, one partition per object', { source, target: `s3://${cfg.bucket}/bench-out/one/`, pack: false }));
      const vsOne = (r: Row) => (r['vs one per object'] = `${(Number(one.seconds) / Number(r.seconds)).toFixed(1)}x faster`);
      // The default partitionBytes is chosen from this sweep: packing cuts per-partition overhead,
      // and finer packs recompute less when a few objects change.
      const sizes = which('sweep') ? [256 * 1024, 1024 ** 2, 4 * 1024 ** 2, 16 * 1024 ** 2, 64 * 1024 ** 2] : [];
      const label = (b: number) => (b < 1024 ** 2 ? `${b / 1024} KiB` : `${b / 1024 ** 2} MiB`);
      const full = new Map<number, Row>();
      for (const b of sizes) full.set(b, keep(await ingest(`small, packed, partitionBytes ${label(b)}`, { source, target: `s3://${cfg.bucket}/bench-out/sweep-${b}/`, partitionBytes: b })));
      for (const r of full.values()) vsOne(r);
      const packed = keep(await ingest('small, packed (default partitionBytes)', { source, target: `s3://${cfg.bucket}/bench-out/packed/` }));
      vsOne(packed);
      const again = keep(await ingest('small, packed, unchanged re-run', { source, target: `s3://${cfg.bucket}/bench-out/packed/` }));
      again['vs full run'] = `${again['records processed']} records, ${((100 * Number(again.seconds)) / Number(packed.seconds)).toFixed(0)}% of the time`;
      await putAll(s3, cfg.bucket, Array.from({ length: 20 }, (_, k) => {
        const m = k * 100 + 37;
        return [`bench/small/m-${String(m).padStart(5, '0')}.avro`, feed(m, 1000, 1)] as [string, Buffer];
      }));
      const vsFull = (r: Row, f: Row) => (r['vs full run'] = `${((100 * Number(r['records processed'])) / Number(f['records processed'])).toFixed(1)}% of the records, ${((100 * Number(r.seconds)) / Number(f.seconds)).toFixed(0)}% of the time`);
      vsFull(keep(await ingest('small, packed, 20 of 2,000 changed', { source, target: `s3://${cfg.bucket}/bench-out/packed/` })), packed);
      for (const [b, f] of full) vsFull(keep(await ingest(`small, partitionBytes ${label(b)}, 20 changed`, { source, target: `s3://${cfg.bucket}/bench-out/sweep-${b}/`, partitionBytes: b })), f);
      vsFull(keep(await ingest('small, one per object, 20 changed', { source, target: `s3://${cfg.bucket}/bench-out/one/`, pack: false })), { ...one, 'records processed': 2_000_000 });
    }
    if (which('mixed')) {
      // Merchant feeds: most are small, a few are huge (records = 100,000^(u^4), u uniform).
      console.log('\npartitions: 14,000 objects of skewed sizes');
      let seed = 1;
      const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      const cache = new Map<number, Buffer>();
      const objects: [string, Buffer][] = [];
      let total = 0;
      for (let m = 0; m < 14_000; m++) {
        // Size classes keep generation cheap: the bytes of a class are built once.
        const n = Math.min(100_000, Math.max(1, Math.round(100_000 ** (rnd() ** 4))));
        const cls = n < 16 ? n : 2 ** Math.round(Math.log2(n));
        const records = Math.min(cls, 100_000);
        if (!cache.has(records)) cache.set(records, feed(records, records));
        objects.push([`bench/mixed/m-${String(m).padStart(5, '0')}.avro`, cache.get(records)!]);
        total += records;
      }
      console.log(`  uploading ${objects.length} objects, ${total} records, ${Math.round(objects.reduce((n, [, b]) => n + b.length, 0) / 1024 / 1024)} MiB`);
      for (let k = 0; k < objects.length; k += 1000) await putAll(s3, cfg.bucket, objects.slice(k, k + 1000));
      keep(await ingest('mixed 14,000 objects, packed', { source: `s3://${cfg.bucket}/bench/mixed/`, target: `s3://${cfg.bucket}/bench-out/mixed/` }));
    }
    if (which('big')) {
      // One worker process runs its activities on one event loop, so a split pays off across
      // worker processes: a second one joins for this workload.
      console.log('\npartitions: one 2M-record Avro object, two worker processes');
      const second = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist/src/cli/main.js'), 'worker'], {
        cwd: PROJECT_ROOT, stdio: 'ignore',
        env: { ...process.env, TEMPORAL_ADDRESS: cfg.temporalAddress, AWS_ENDPOINT_URL_S3: cfg.s3.endpoint, PARTFLOW_TASK_QUEUE: cfg.taskQueue, PARTFLOW_BUCKET: cfg.bucket },
      });
      try {
        await putAll(s3, cfg.bucket, [['bench/big/feed.avro', feed(999_999, 2_000_000)]]);
        const source = `s3://${cfg.bucket}/bench/big/`;
        await new Promise((r) => setTimeout(r, 3000)); // the second worker connects
        const one = keep(await ingest('big, 1 partition', { source, target: `s3://${cfg.bucket}/bench-out/big-one/`, splitBytes: 1024 ** 3 }));
        const split = keep(await ingest('big, split (default splitBytes)', { source, target: `s3://${cfg.bucket}/bench-out/big-split/` }));
        split['vs one partition'] = `${(Number(one.seconds) / Number(split.seconds)).toFixed(2)}x faster`;
        // The same source again: planning reuses the block walk of the unchanged object.
        keep(await ingest('big, split again (walk reused)', { source, target: `s3://${cfg.bucket}/bench-out/big-split/` }));
      } finally {
        second.kill('SIGTERM');
      }
    }
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
  }
  console.table(rows);
  return rows;
}
