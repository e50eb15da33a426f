/**
 * partflow benchmarks, on the real stack (a Temporal dev server and versitygw started here).
 *
 *   npm run bench                 # codecs, throughput, resume, memory
 *   npm run bench -- fanout       # 10,000 partitions per stage (a few minutes)
 *   npm run bench -- codecs resume
 *   npm run bench -- partitions   # packing, incremental re-runs, splitting (small rerun changed mixed big)
 *   npm run bench -- kafka        # a Kafka topic into committed Avro against a plain fetch loop (bench/kafka.ts)
 *   npm run bench -- compare [--scale 0.1] [--pairs 5]  # raw avsc loop vs partflow vs PySpark local[2] (bench/compare, BENCHMARKS.md)
 *   npm run bench -- scale [--max 100000]   # per-partition cost at 1 … 10,000 partitions (bench/compare/scale.ts)
 *   npm run bench -- cost         # per-partition CPU (worker, Temporal, S3) and S3 requests (bench/cost.ts)
 *
 * Results print as a table and are written to bench/results/<date>-<name>.json.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { Type } from 'avsc';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createActivities } from '../activities';
import { CODECS } from '../src/avro/codecs';
import { ContainerEncoder, syncMarkerFor } from '../src/avro/container';
import { blockDecoder, ContainerReader, decodeBlock } from '../src/avro/container-reader';
import { loadSchema } from '../src/avro/schemas';
import { loadConfig, Config } from '../src/config';
import { PROJECT_ROOT } from '../src/config/paths';
import { IngestSummary } from '../src/manifest/run';
import { resolveIngestInput } from '../src/pipeline/input';
import { PipelineRegistry } from '../src/pipeline/registry';
import { PlanSummary } from '../src/pipeline/plan';
import { PartitionError, PipelineDefinition } from '../src/pipeline/types';
import { builtinPipelines } from '../src/pipelines';
import { enrichBirdStrike, indexAirports, mapBirdStrike } from '../src/pipelines/birdstrikes';
import { startEmbeddedStack } from '../src/stack/embedded';
import { freePort } from '../src/stack/process';
import { vegaDataFile } from '../src/stack/sample';
import { s3Client } from '../src/storage/client';
import { createWorker } from '../src/worker/worker';
import { partitionsBench } from './partitions';
import { kafkaBench } from './kafka';
import { compareMain } from './compare';
import { costBench } from './cost';
import { parse } from 'csv-parse/sync';
import { Readable } from 'node:stream';

type Row = Record<string, string | number>;
const results: Record<string, unknown> = {};

function mb(n: number): number {
  return Math.round((n / 1024 / 1024) * 10) / 10;
}

function rssSampler() {
  let peak = process.memoryUsage().rss;
  const t = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  return { stop: () => { clearInterval(t); return peak; } };
}

/** Enriched bird strikes: the sample pipeline's real output shape, for codec comparisons. */
function enrichedRecords(n: number): unknown[] {
  const rows = parse(fs.readFileSync(vegaDataFile('birdstrikes.csv')), { columns: true }) as Record<string, string>[];
  const idx = indexAirports(parse(fs.readFileSync(vegaDataFile('airports.csv')), { columns: true }));
  const out: unknown[] = [];
  for (let i = 0; out.length < n; i++) {
    const r = rows[i % rows.length];
    const raw: Record<string, string> = {};
    for (const [k, v] of Object.entries(r)) raw[k.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '')] = v;
    out.push(enrichBirdStrike(mapBirdStrike(raw), idx));
  }
  return out;
}

async function codecs(): Promise<void> {
  const type = loadSchema('birdstrike_enriched@1').type;
  const json = loadSchema('birdstrike_enriched@1').json;
  const records = enrichedRecords(200_000);
  const rows: Row[] = [];
  for (const codec of CODECS) {
    // Best of three, to keep one-off pauses (GC, the other core) out of the numbers.
    let file = Buffer.alloc(0);
    let encMs = Infinity;
    let decMs = Infinity;
    let n = 0;
    for (let rep = 0; rep < 3; rep++) {
      const enc = new ContainerEncoder(type, json, { codec, sync: syncMarkerFor('bench') });
      const t0 = process.hrtime.bigint();
      const parts = [enc.header()];
      for (const r of records) {
        const b = enc.add(r);
        if (b) parts.push(b);
      }
      parts.push(enc.flush()!);
      file = Buffer.concat(parts);
      encMs = Math.min(encMs, Number(process.hrtime.bigint() - t0) / 1e6);
      // Decode as a stage does: block by block, records synchronously.
      const t1 = process.hrtime.bigint();
      const reader = await ContainerReader.open(Readable.from([file]), { name: codec });
      const decoder = blockDecoder(reader.header.writerType);
      n = 0;
      for await (const block of reader.blocks()) n += decodeBlock(codec, block, decoder).length;
      decMs = Math.min(decMs, Number(process.hrtime.bigint() - t1) / 1e6);
    }
    rows.push({ codec, records: n, MiB: mb(file.length), 'encode rec/s': Math.round(n / (encMs / 1000)), 'decode rec/s': Math.round(n / (decMs / 1000)) });
  }
  console.log('\ncodecs: 200,000 enriched bird strikes, encoded and decoded in memory');
  console.table(rows);
  results.codecs = rows;
}

async function seedScaledBirdstrikes(s3: S3Client, bucket: string, copies: number): Promise<number> {
  const text = fs.readFileSync(vegaDataFile('birdstrikes.csv'), 'utf8');
  const [header, ...lines] = text.trimEnd().split('\n');
  const body = [header, ...Array.from({ length: copies }, () => lines.join('\n'))].join('\n') + '\n';
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'bench/birdstrikes/birdstrikes.csv', Body: body }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'reference/airports.csv', Body: fs.readFileSync(vegaDataFile('airports.csv')) }));
  return lines.length * copies;
}

async function throughput(cfg: Config, client: Client): Promise<void> {
  const s3 = s3Client(cfg.s3);
  const n = await seedScaledBirdstrikes(s3, cfg.bucket, 50);
  const { worker, connection } = await createWorker({ config: cfg, pipelines: builtinPipelines, concurrency: 2 });
  const running = worker.run();
  const sampler = rssSampler();
  const t0 = Date.now();
  const r = (await client.workflow.execute('ingest', {
    taskQueue: cfg.taskQueue, workflowId: `bench-throughput-${Date.now()}`,
    args: [{ pipeline: 'birdstrikes', source: `s3://${cfg.bucket}/bench/birdstrikes/`, target: `s3://${cfg.bucket}/bench-out/`, partitionRecords: 50_000, maxParallel: 2 }],
  })) as IngestSummary;
  const secs = (Date.now() - t0) / 1000;
  const peak = sampler.stop();
  worker.shutdown();
  await running;
  await connection.close();
  const csvMiB = mb(fs.statSync(vegaDataFile('birdstrikes.csv')).size * 50);
  const row = {
    records: n, 'csv MiB': csvMiB, partitions: r.partitions, stages: Object.keys(r.stages).join('>'), seconds: secs,
    'records/s (end to end, all stages)': Math.round(n / secs), 'stage-records/s': Math.round((n * Object.keys(r.stages).length) / secs),
    'peak RSS MiB (worker+client)': mb(peak), status: r.status,
  };
  console.log('\nthroughput: birdstrikes pipeline (import > map > enrich) over the sample CSV x50, one worker, 2 activities at a time');
  console.table([row]);
  results.throughput = row;
}

// A copy stage that "crashes" (throws a retryable error) once it has passed a given record.
let crashAfter = Infinity;
const crashPipeline: PipelineDefinition = {
  name: 'bench-crash',
  stages: [{
    name: 'copy', schema: '@input', version: '1',
    transform: (r, ctx) => {
      if (ctx.recordIndex >= crashAfter) throw new PartitionError('simulated crash');
      return r;
    },
  }],
};

async function resume(cfg: Config): Promise<void> {
  const s3 = s3Client(cfg.s3);
  const RECORDS = 400_000;
  const size = await putBigAvro(s3, cfg.bucket, 'bench/big/part-0.avro', RECORDS);

  const registry = new PipelineRegistry([crashPipeline]);
  const acts = createActivities({ config: cfg, s3, registry });
  const plan = async (target: string): Promise<PlanSummary> => new MockActivityEnvironment({ activityId: 'plan' }, { logger: new DefaultLogger('ERROR') }).run(acts.planIngest,
    resolveIngestInput({ pipeline: 'bench-crash', source: `s3://${cfg.bucket}/bench/big/`, target: `s3://${cfg.bucket}/${target}/` }));
  const runStage = async (p: PlanSummary, details?: unknown) => {
    const env = new MockActivityEnvironment({ activityId: 'copy:p-00000', attempt: details ? 2 : 1, heartbeatDetails: details, retryPolicy: { maximumAttempts: 5 } }, { logger: new DefaultLogger('ERROR') });
    let last: unknown;
    env.on('heartbeat', (d: unknown) => (last = d));
    const t0 = Date.now();
    try {
      await env.run(acts.runStage, { bucket: p.bucket, planKey: p.planKey, stage: 'copy', index: 0 });
    } catch (err) {
      if (!/simulated crash/.test(String((err as Error).message))) throw err;
    }
    return { ms: Date.now() - t0, last };
  };

  // Full run from zero: the cost of a restart without checkpoints.
  crashAfter = Infinity;
  const full = await runStage(await plan('bench-resume-full'));
  // Crash at ~90%, then resume from the last checkpoint.
  crashAfter = Math.floor(RECORDS * 0.9);
  const p2 = await plan('bench-resume-crash');
  const crashed = await runStage(p2);
  const cp = (crashed.last as { checkpoint?: { counts: { in: number } } })?.checkpoint;
  crashAfter = Infinity;
  const resumed = await runStage(p2, crashed.last);
  const row = {
    'input MiB': mb(size), records: RECORDS, 'crash at record': Math.floor(RECORDS * 0.9), 'resumed from record': cp?.counts.in ?? 0,
    'restart from zero s': full.ms / 1000, 'resume from checkpoint s': resumed.ms / 1000, speedup: Math.round((full.ms / resumed.ms) * 10) / 10,
  };
  console.log('\nresume: one partition killed at ~90%, finishing it by resuming vs by starting over (8 MiB parts)');
  console.table([row]);
  results.resume = row;
}

/** Writes one Avro object of `records` barely compressible records (~270 bytes each). */
async function putBigAvro(s3: S3Client, bucket: string, key: string, records: number): Promise<number> {
  const type = Type.forSchema({ type: 'record', name: 'Big', fields: [{ name: 'id', type: 'long' }, { name: 'payload', type: 'string' }] } as never);
  const enc = new ContainerEncoder(type, JSON.stringify(type.schema()), { codec: 'null', sync: syncMarkerFor(key) });
  const parts = [enc.header()];
  const bytes = Buffer.alloc(200);
  for (let i = 0; i < records; i++) {
    for (let j = 0; j < bytes.length; j += 4) bytes.writeUInt32LE((Math.imul(i + 1, 2654435761) ^ (j * 40503)) >>> 0, j);
    const b = enc.add({ id: i, payload: bytes.toString('base64') });
    if (b) parts.push(b);
  }
  parts.push(enc.flush()!);
  const file = Buffer.concat(parts);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: file }));
  return file.length;
}

/** Peak memory of one copy activity over partitions of growing size: it should not grow with them. */
async function memory(cfg: Config): Promise<void> {
  const s3 = s3Client(cfg.s3);
  const acts = createActivities({ config: cfg, s3, registry: new PipelineRegistry(builtinPipelines) });
  const rows: Row[] = [];
  for (const records of [100_000, 400_000, 1_200_000]) {
    const size = await putBigAvro(s3, cfg.bucket, `bench/mem-${records}/part-0.avro`, records);
    const plan: PlanSummary = await new MockActivityEnvironment({ activityId: 'plan' }, { logger: new DefaultLogger('ERROR') }).run(acts.planIngest,
      resolveIngestInput({ pipeline: 'copy', source: `s3://${cfg.bucket}/bench/mem-${records}/`, target: `s3://${cfg.bucket}/bench-mem/` }));
    (global as { gc?: () => void }).gc?.();
    const base = process.memoryUsage();
    let peakRss = base.rss;
    let peakHeap = base.heapUsed;
    const t = setInterval(() => {
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      peakHeap = Math.max(peakHeap, m.heapUsed);
    }, 20);
    const t0 = Date.now();
    await new MockActivityEnvironment({ activityId: 'copy:p-00000' }, { logger: new DefaultLogger('ERROR') }).run(acts.runStage, { bucket: plan.bucket, planKey: plan.planKey, stage: 'copy', index: 0 });
    clearInterval(t);
    rows.push({ 'partition MiB': mb(size), records, seconds: (Date.now() - t0) / 1000, 'MiB/s': Math.round(mb(size) / ((Date.now() - t0) / 1000)), 'peak heap growth MiB': mb(peakHeap - base.heapUsed), 'peak RSS growth MiB': mb(peakRss - base.rss) });
  }
  console.log('\nmemory: one copy activity (zstandard output) over partitions of growing size; growth over the baseline before it started');
  console.table(rows);
  results.memory = rows;
}

async function fanout(cfg: Config, client: Client): Promise<void> {
  const s3 = s3Client(cfg.s3);
  const PARTS = 10_000;
  const body = ['id,name', ...Array.from({ length: PARTS * 2 }, (_, i) => `${i},row ${i}`)].join('\n') + '\n';
  await s3.send(new PutObjectCommand({ Bucket: cfg.bucket, Key: 'bench/fanout/rows.csv', Body: body }));
  const { worker, connection } = await createWorker({ config: cfg, pipelines: builtinPipelines, concurrency: 64 });
  const running = worker.run();
  const t0 = Date.now();
  const id = `bench-fanout-${Date.now()}`;
  const r = (await client.workflow.execute('ingest', {
    taskQueue: cfg.taskQueue, workflowId: id,
    args: [{ pipeline: 'copy', source: `s3://${cfg.bucket}/bench/fanout/`, target: `s3://${cfg.bucket}/fanout-out/`, partitionRecords: 2, maxParallel: 64 }],
  })) as IngestSummary;
  const secs = (Date.now() - t0) / 1000;
  const parent = await client.workflow.getHandle(id).describe();
  const child = await client.workflow.getHandle(`${id}/w-000001`).describe();
  worker.shutdown();
  await running;
  await connection.close();
  const row = {
    partitions: r.partitions, activities: r.partitions * 2, seconds: secs, 'activities/s': Math.round((r.partitions * 2) / secs),
    'parent history events': parent.historyLength, 'largest child history events': child.historyLength,
    'copy succeeded': r.stages.copy.succeeded, status: r.status,
  };
  console.log('\nfan-out: 10,000 partitions x (import, copy), 64 in flight, child workflows of 500 partitions');
  console.table([row]);
  results.fanout = row;
}

async function main(): Promise<void> {
  const which = process.argv.slice(2);
  if (which[0] === 'compare' || which[0] === 'scale') return compareMain(which);
  const parts = ['small', 'sweep', 'rerun', 'changed', 'mixed', 'big'];
  const modes = ['codecs', 'throughput', 'resume', 'memory', 'fanout', 'kafka', 'cost', 'partitions', ...parts];
  // A typo or --help ran nothing and wrote an empty result file, after starting a whole stack.
  const unknown = which.filter((w) => !modes.includes(w));
  if (unknown.length) {
    console.error(`${unknown.includes('--help') || unknown.includes('-h') ? '' : `unknown benchmark ${unknown.join(', ')}; `}benchmarks: ${modes.join(', ')}, compare, scale (bench/run.ts's first comment says what each measures; BENCHMARKS.md how to run them)`);
    process.exit(unknown.includes('--help') || unknown.includes('-h') ? 0 : 2);
  }
  const want = (n: string) => (which.length ? which.includes(n) || (n === 'partitions' && which.some((w) => parts.includes(w))) : n !== 'fanout' && n !== 'partitions' && n !== 'kafka' && n !== 'cost');
  process.env.PARTFLOW_LOG_LEVEL ??= 'warn';
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-bench-'));
  const cfg = loadConfig({ ...process.env, TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`, AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${await freePort()}`, PARTFLOW_TASK_QUEUE: 'bench' });
  const stack = await startEmbeddedStack(cfg, { dataDir, uiPort: await freePort() });
  const conn = await Connection.connect({ address: cfg.temporalAddress });
  const client = new Client({ connection: conn });
  console.log(`partflow bench on ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${mb(os.totalmem())} MiB, node ${process.version}`);
  try {
    if (want('codecs')) await codecs();
    if (want('throughput')) await throughput(cfg, client);
    if (want('resume')) await resume(cfg);
    if (want('memory')) await memory(cfg);
    if (want('fanout')) await fanout(cfg, client);
    if (want('kafka')) results.kafka = await kafkaBench(cfg, client);
    if (want('cost')) results.cost = await costBench(cfg, client, stack);
    if (want('partitions')) results.partitions = await partitionsBench(cfg, client, (n) => which.includes('partitions') || which.includes(n));
  } finally {
    await conn.close();
    await stack.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  const dir = path.join(PROJECT_ROOT, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${new Date().toISOString().slice(0, 10)}-${(which.length ? which : ['default']).join('-')}.json`);
  fs.writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memMiB: mb(os.totalmem()), node: process.version }, results }, null, 2));
  console.log(`\nwritten to ${path.relative(PROJECT_ROOT, file)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
