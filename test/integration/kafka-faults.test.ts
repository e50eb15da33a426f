import { Client, Connection } from '@temporalio/client';
import { S3Client } from '@aws-sdk/client-s3';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config/paths';
import { PartitionManifest } from '../../src/manifest/partition';
import { IngestSummary, RunManifest } from '../../src/manifest/run';
import { IngestInput } from '../../src/pipeline/input';
import { ensureBucket } from '../../src/stack/embedded';
import { s3Client } from '../../src/storage/client';
import { readCommittedOffsets } from '../../src/sources/kafka/offsets';
import { createTopic, produce, startTestBroker } from '../helpers/kafka';
import { fetchTree, getJson, sha256 } from '../helpers/s3';
import { testConfig } from '../helpers/stack';

/**
 * kill -9 of worker processes (built dist/, `npm run build` first) in the middle of a Kafka
 * import: the attempt after resumes inside its offset range from the last checkpoint, and the
 * output is byte-identical to a clean run's. Every wait is bounded.
 */
const BUCKET = 'kafkafaults';
const TOPIC = 'big';
const MESSAGES = 20_000; // ~1 KB of random base64 each: ~15 MB of zstd Avro in one range, three 5 MiB parts
const cfg = testConfig(`test-kafka-faults-${process.pid}`, BUCKET);
let kafka: Awaited<ReturnType<typeof startTestBroker>>;
let s3: S3Client;
let conn: Connection;
let client: Client;
const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'partflow-kafka-faults-'));
const workers: ChildProcess[] = [];

function startWorker(name: string, env: Record<string, string> = {}): ChildProcess {
  const child = spawn('node', ['dist/src/cli/main.js', 'worker'], {
    cwd: PROJECT_ROOT, stdio: 'ignore',
    env: {
      ...process.env, TEMPORAL_ADDRESS: cfg.temporalAddress, AWS_ENDPOINT_URL_S3: cfg.s3.endpoint, PARTFLOW_TASK_QUEUE: cfg.taskQueue, PARTFLOW_BUCKET: BUCKET,
      PARTFLOW_PART_SIZE: String(5 * 1024 * 1024), PARTFLOW_LOG_FILE: path.join(logDir, `worker-${name}.log`), PARTFLOW_LOG_LEVEL: 'info', PARTFLOW_WORKER_CONCURRENCY: '1', PARTFLOW_WORKER_PROCESSES: '1', ...env,
    },
  });
  workers.push(child);
  return child;
}

function killed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function input(target: string): IngestInput {
  return {
    pipeline: 'copy', source: `kafka://${kafka.broker.bootstrap}/${TOPIC}`, target: `s3://${BUCKET}/${target}/`, dataset: 'big',
    partitionRecords: 1_000_000, maxParallel: 1, heartbeatTimeoutSeconds: 5, waitForRetry: '0',
  };
}

async function run(id: string, inp: IngestInput): Promise<string> {
  const workflowId = `${id}-${process.pid}`;
  await client.workflow.start('ingest', { taskQueue: cfg.taskQueue, workflowId, args: [inp], workflowExecutionTimeout: '5m' });
  return workflowId;
}

const result = (workflowId: string) => client.workflow.getHandle(workflowId).result() as Promise<IngestSummary>;

beforeAll(async () => {
  if (!fs.existsSync(path.join(PROJECT_ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error('run `npm run build` first: this test runs workers from dist/');
  kafka = await startTestBroker('faults');
  s3 = s3Client(cfg.s3);
  await ensureBucket(s3, BUCKET);
  conn = await Connection.connect({ address: cfg.temporalAddress });
  client = new Client({ connection: conn, namespace: cfg.temporalNamespace });
  await createTopic(kafka.admin, TOPIC, 1);
  await produce(kafka.broker.bootstrap, TOPIC, Array.from({ length: MESSAGES }, (_, i) => ({ partition: 0, key: `k${i}`, value: JSON.stringify({ i, pad: randomBytes(750).toString('base64') }) })), 500);
}, 180_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => killed(w)));
  await conn?.close();
  await kafka?.stop();
  if (!process.env.PARTFLOW_KEEP_TEST_DATA) fs.rmSync(logDir, { recursive: true, force: true });
}, 60_000);

test('kill -9 of the worker during a Kafka import: the retry resumes inside the range and the output is byte-identical to a clean run', async () => {
  const cleanWorker = startWorker('clean');
  const clean = await result(await run('kclean', input('clean')));
  await killed(cleanWorker);
  expect(clean.status).toBe('completed');
  expect({ partitions: clean.partitions, raw: clean.stages.raw.records }).toEqual({ partitions: 1, raw: { in: MESSAGES, out: MESSAGES, rejected: 0, dropped: 0 } });

  const id = await run('kkilled', input('killed'));
  let kills = 0;
  // A kill as soon as the worker has written an import checkpoint (its log says so), so that it
  // lands mid-range: the import of one range takes a few seconds only.
  for (let round = 0; round < 1; round++) {
    const name = `killed-${round}`;
    const w = startWorker(name);
    const what = await until(`an import checkpoint in round ${round}`, 90_000, async () => {
      const log = fs.existsSync(path.join(logDir, `worker-${name}.log`)) ? fs.readFileSync(path.join(logDir, `worker-${name}.log`), 'utf8') : '';
      if (log.split('\n').some((l) => l.includes('"msg":"checkpoint"') && l.includes('"stage":"raw"'))) return 'checkpoint';
      const desc = await client.workflow.getHandle(id).describe();
      return desc.status.name !== 'RUNNING' ? 'closed' : undefined;
    });
    await killed(w);
    if (what === 'closed') break;
    kills++;
  }
  startWorker('killed-final');
  const r = await result(id);
  expect(kills).toBeGreaterThanOrEqual(1);
  expect(r.status).toBe('completed');
  expect(r.stages.raw.records).toEqual(clean.stages.raw.records);
  const m = await getJson<PartitionManifest>(s3, (await getJson<RunManifest>(s3, r.manifest)).committed.raw[0].manifest);
  expect(m.run.attempt).toBeGreaterThan(1);
  // When the server had the checkpoint before the kill, the next attempt carried on from it.
  if (m.resumedFrom) expect(m.resumedFrom.records).toBeGreaterThan(0);
  // Same keys and the same bytes, stage by stage.
  for (const stage of ['raw', 'copy']) {
    const a = await fetchTree(s3, clean.stages[stage].output);
    const b = await fetchTree(s3, r.stages[stage].output);
    const keys = [...a.keys()].filter((k) => k.endsWith('.avro')).sort();
    expect([...b.keys()].filter((k) => k.endsWith('.avro')).sort()).toEqual(keys);
    for (const k of keys) expect(sha256(b.get(k)!)).toBe(sha256(a.get(k)!));
  }
});

/** The import checkpoint the server holds for a run's pending activities (its own or its windows'), if `want` takes it. */
async function serverCheckpoint(id: string, want: (cp: KafkaCheckpoint) => boolean): Promise<KafkaCheckpoint | undefined> {
  const ids = [id];
  for await (const w of client.workflow.list({ query: 'ExecutionStatus="Running"' })) if (w.workflowId.startsWith(`${id}/`) || w.workflowId.startsWith(`${id}-`)) ids.push(w.workflowId);
  for (const wid of ids) {
    const desc = await client.workflow.getHandle(wid).describe().catch(() => null);
    for (const a of desc?.raw.pendingActivities ?? []) {
      for (const p of a.heartbeatDetails?.payloads ?? []) {
        const d = JSON.parse(Buffer.from(p.data!).toString('utf8')) as { checkpoint?: KafkaCheckpoint };
        if (d?.checkpoint && want(d.checkpoint)) return d.checkpoint;
      }
    }
  }
  return undefined;
}

interface KafkaCheckpoint {
  position: { blockOffset: number };
  source?: { gaps: [number, number][] };
}

test('a gap found while reading (deleteRecords during the run, allowGaps) survives a resume: partition manifest, offset counts, committed offsets and summary', async () => {
  // Only this test's workers may take its activities: an earlier test's last worker still runs.
  await Promise.all(workers.map((w) => killed(w)));
  const topic = 'gappy';
  const n = 60_000;
  await createTopic(kafka.admin, topic, 1);
  await produce(kafka.broker.bootstrap, topic, Array.from({ length: n }, (_, i) => ({ partition: 0, key: `k${i}`, value: JSON.stringify({ i, pad: randomBytes(750).toString('base64') }) })), 500);
  const id = await run('kgappy', { ...input('gappy'), source: `kafka://${kafka.broker.bootstrap}/${topic}`, dataset: 'gappy', allowGaps: true });
  const ended = async () => ((await client.workflow.getHandle(id).describe()).status.name !== 'RUNNING' ? 'ended' : undefined);

  // 1. Killed once the server holds a checkpoint: the next attempt resumes at its position.
  const w1 = startWorker('gappy-1');
  const cp1 = await until('a first import checkpoint', 90_000, async () => (await serverCheckpoint(id, () => true)) ?? (await ended()));
  await killed(w1);
  if (typeof cp1 === 'string') throw new Error('the import ended before its first checkpoint reached the server');
  const p1 = cp1.position.blockOffset;
  // 2. Records just past that position are deleted: the resumed attempt finds them gone while reading.
  await kafka.admin.deleteRecords({ topics: [{ name: topic, partitions: [{ partition: 0, offset: BigInt(p1 + 500) }] }] });
  // This worker's reads are throttled by the broker (a client quota), so that the import is still
  // running when its checkpoint past the gap reaches the server (heartbeats go out every few seconds).
  await kafka.admin.alterClientQuotas({ entries: [{ entities: [{ entityType: 'client-id', entityName: 'partflow-slow' }], ops: [{ key: 'consumer_byte_rate', value: 3_000_000, remove: false }] }] });
  const w2 = startWorker('gappy-2', { PARTFLOW_KAFKA_CLIENT_ID: 'partflow-slow' });
  const cp2 = await until('a checkpoint past the gap', 90_000, async () => (await serverCheckpoint(id, (c) => (c.source?.gaps.length ?? 0) > 0)) ?? (await ended()));
  await killed(w2);
  if (typeof cp2 === 'string') throw new Error('the import ended before a checkpoint past the gap reached the server');
  expect(cp2.source!.gaps).toEqual([[p1, p1 + 500]]);
  // 3. The last attempt resumes past the gap: only the checkpoint can tell it of the gap.
  startWorker('gappy-final');
  const r = await result(id);
  expect(r.status).toBe('completed');
  const m = await getJson<PartitionManifest>(s3, (await getJson<RunManifest>(s3, r.manifest)).committed.raw[0].manifest);
  expect(m.resumedFrom?.position.blockOffset).toBeGreaterThan(p1 + 500);
  expect(m.inputs[0].gaps).toEqual([[p1, p1 + 500]]);
  expect({ in: m.counts.in, offsets: m.offsets }).toEqual({ in: n - 500, offsets: { control: 0, aborted: 0, compacted: 0, gaps: 500 } });
  const offsets = await readCommittedOffsets(s3, BUCKET, 'gappy/', 'gappy', topic);
  expect(offsets?.gaps).toEqual([{ partition: 0, from: p1, to: p1 + 500 }]);
  expect(r.kafkaGaps).toEqual({ ranges: 1, offsets: 500, first: [{ partition: 0, from: p1, to: p1 + 500 }] });
}, 240_000);
