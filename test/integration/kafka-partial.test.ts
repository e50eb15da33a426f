import { WorkflowFailedError } from '@temporalio/client';
import { S3Client } from '@aws-sdk/client-s3';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Type } from 'avsc';
import { IngestSummary } from '../../src/manifest/run';
import { IngestInput, resolveIngestInput } from '../../src/pipeline/input';
import { ignoredStartOffsetsNote } from '../../src/client/kafka-note';
import { readPublished } from '../../src/sources/kafka/published';
import { copyPipeline } from '../../src/pipelines/copy';
import { Producer } from '../../src/sources/kafka/lib';
import { OffsetsCommit, readCommittedOffsets } from '../../src/sources/kafka/offsets';
import { readSnapshot } from '../../src/snapshots/store';
import { s3Client } from '../../src/storage/client';
import { createTopic, startTestBroker } from '../helpers/kafka';
import { decodeUrl, getJson } from '../helpers/s3';
import { startHarness, TestHarness } from '../helpers/stack';

/**
 * Runs after a partial Kafka run (offsets not committed, ranges published) on a real broker:
 * retention moving the log start meanwhile, and partitionRecords changed, must neither skip
 * offsets silently nor put an offset in the snapshot twice. A raw range fails (not retried) when
 * its first value names a schema id the stub registry does not serve yet (values.ts: the wrong
 * registry); serving it afterwards lets the next run read it, with the same value settings.
 */
const BUCKET = 'kpartial';
const TARGET = `s3://${BUCKET}/datasets/`;
const SCHEMA = 'birdstrike@1';
let kafka: Awaited<ReturnType<typeof startTestBroker>>;
let h: TestHarness;
let s3: S3Client;
let registry: string;
let server: http.Server;
const served = new Set<number>([42]);
const schemaText = fs.readFileSync(path.join(__dirname, '../../schemas/birdstrike/v1.avsc'), 'utf8');
const type = Type.forSchema(JSON.parse(schemaText));

const src = (topic: string) => `kafka://${kafka.broker.bootstrap}/${topic}`;
const value = () => ({ format: 'confluent' as const, schema: SCHEMA, registry });
const committed = (topic: string): Promise<OffsetsCommit | null> => readCommittedOffsets(s3, BUCKET, 'datasets/', topic, topic);

function ingest(id: string, input: Partial<IngestInput> & { source: string }): Promise<IngestSummary> {
  return h.client.workflow.execute('ingest', {
    taskQueue: h.cfg.taskQueue, workflowId: `${id}-${process.pid}`, workflowExecutionTimeout: '3m',
    args: [{ pipeline: 'copy', target: TARGET, waitForRetry: '0', value: value(), ...input }],
  });
}

/** `n` messages to `partition`, each a BirdStrike framed with schema id `id`; `i0` numbers them. */
async function send(topic: string, partition: number, n: number, id: number, i0 = 0): Promise<void> {
  const producer = new Producer({ clientId: 'partflow-test-partial', bootstrapBrokers: [kafka.broker.bootstrap], acks: -1, idempotent: true });
  const frame = Buffer.from([0, 0, 0, 0, id]);
  try {
    await producer.send({
      messages: Array.from({ length: n }, (_, k) => ({
        topic, partition, value: Buffer.concat([frame, type.toBuffer({ airport_name: `a${i0 + k}`, flight_date: i0 + k })]),
      })),
    });
  } finally {
    await producer.close();
  }
}

const deleteBefore = (topic: string, partition: number, offset: number) => kafka.admin.deleteRecords({ topics: [{ name: topic, partitions: [{ partition, offset: BigInt(offset) }] }] });

/** The raw ranges of the dataset's latest snapshot, and every (partition, offset) their outputs hold, doubles included. */
async function snapshotRaw(topic: string, n: number): Promise<{ names: string[]; offsets: string[] }> {
  const snap = await readSnapshot(s3, `${TARGET}${topic}/`, n);
  const offsets: string[] = [];
  for (const p of snap.stages.raw) for (const r of (await decodeUrl(s3, p.output)) as { partition: number; offset: number }[]) offsets.push(`${r.partition}@${r.offset}`);
  return { names: snap.stages.raw.map((p) => p.name), offsets };
}

const range = (from: number, to: number, partition = 0) => Array.from({ length: to - from }, (_, k) => `${partition}@${from + k}`);

beforeAll(async () => {
  kafka = await startTestBroker('partial');
  h = await startHarness('kafka-partial', [copyPipeline], { bucket: BUCKET });
  s3 = s3Client(h.cfg.s3);
  server = http.createServer((req, res) => {
    const id = Number(/\/schemas\/ids\/(\d+)$/.exec(req.url ?? '')?.[1]);
    if (served.has(id)) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ schema: schemaText }));
    else res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error_code: 40403, message: 'Schema not found' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  registry = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}, 180_000);

afterAll(async () => {
  await h?.stop();
  await kafka?.stop();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});

test('retention after a partial first run: the next run starts where it started, fails with OffsetsGone for offsets never ingested, or records them as a gap (allowGaps), reusing the published ranges', async () => {
  const topic = 'gone';
  await createTopic(kafka.admin, topic, 1);
  await send(topic, 0, 2_000, 42);
  await send(topic, 0, 1_000, 43, 2_000);
  const first = await ingest('kp-gone-1', { source: src(topic), partitionRecords: 1_000 });
  expect(first.status).toBe('partial');
  expect(first.stages.raw.succeeded).toBe(2);
  expect(await committed(topic)).toBeNull();
  expect((await snapshotRaw(topic, first.snapshot!.number)).names).toEqual(['gone#0@0-1000', 'gone#0@1000-2000']);
  // What `partflow ingest --start-offsets` says now: the earlier run fixed where the dataset starts.
  const again = resolveIngestInput({ pipeline: 'copy', source: src(topic), target: TARGET, value: value(), startOffsets: 'latest' });
  expect(await ignoredStartOffsetsNote(s3, again, true, await readPublished(s3, BUCKET, 'datasets/', topic, topic))).toBe('startOffsets is ignored: an earlier run of dataset gone started topic gone at {"0":0} and ended partial '
    + "(no offsets committed yet); this run starts there too, reusing what that run committed. startOffsets applies to a dataset's first run only (ingest into a new dataset to start elsewhere)");

  // Retention moves the log start past offsets the first run never ingested (2000-2499).
  await deleteBefore(topic, 0, 2_500);
  served.add(43);
  const err = await ingest('kp-gone-2', { source: src(topic), partitionRecords: 1_000 }).then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause as Error & { cause?: Error };
  expect(`${cause?.message} ${cause?.cause?.message ?? ''}`).toContain('topic gone partition 0: offsets 2000-2499 that the dataset does not hold are no longer on the broker');
  expect(await committed(topic)).toBeNull();

  const gapped = await ingest('kp-gone-3', { source: src(topic), partitionRecords: 1_000, allowGaps: true });
  expect(gapped.status).toBe('completed');
  // The published ranges are reused, not read again (the broker no longer has them).
  expect(gapped.stages.raw.skipped).toBe(2);
  // Counts include the reused ranges: 2000 reused, 500 read.
  expect(gapped.stages.raw.records.in).toBe(2_500);
  const plan = await getJson<{ kafka: { startedFrom: Record<string, string>; gaps: unknown[] } }>(s3, gapped.plan);
  expect(plan.kafka.startedFrom).toEqual({ 0: 'earlier run' });
  expect(plan.kafka.gaps).toEqual([{ partition: 0, from: 2_000, to: 2_500 }]);
  expect(gapped.kafkaGaps).toEqual({ ranges: 1, offsets: 500, first: [{ partition: 0, from: 2_000, to: 2_500 }] });
  const c = await committed(topic);
  expect({ offsets: c?.offsets, gaps: c?.gaps }).toEqual({ offsets: { 0: 3_000 }, gaps: [{ partition: 0, from: 2_000, to: 2_500 }] });
  const raw = await snapshotRaw(topic, gapped.snapshot!.number);
  expect(raw.names).toEqual(['gone#0@0-1000', 'gone#0@1000-2000', 'gone#0@2500-3000']);
  expect(raw.offsets.sort()).toEqual([...range(0, 2_000), ...range(2_500, 3_000)].sort());
});

test('partitionRecords changed after a partial run: the published range is kept whole and the new ones start at its end, so no offset is held twice', async () => {
  const topic = 'dup';
  await createTopic(kafka.admin, topic, 2);
  await send(topic, 0, 3, 42);
  await send(topic, 1, 1, 44);
  const first = await ingest('kp-dup-1', { source: src(topic), partitionRecords: 1_000 });
  expect(first.status).toBe('partial');
  expect((await snapshotRaw(topic, first.snapshot!.number)).names).toEqual(['dup#0@0-3']);

  await send(topic, 0, 1, 42, 3);
  served.add(44);
  const next = await ingest('kp-dup-2', { source: src(topic), partitionRecords: 2 });
  expect(next.status).toBe('completed');
  const raw = await snapshotRaw(topic, next.snapshot!.number);
  expect(raw.names).toEqual(['dup#0@0-3', 'dup#0@3-4', 'dup#1@0-1']);
  expect(raw.offsets.sort()).toEqual([...range(0, 4), ...range(0, 1, 1)].sort());
  const snap = await readSnapshot(s3, `${TARGET}${topic}/`, next.snapshot!.number);
  expect(snap.stages.copy.reduce((n, p) => n + p.records, 0)).toBe(5);
  expect((await committed(topic))?.offsets).toEqual({ 0: 4, 1: 1 });
});

test('retention inside a range a partial run published (allowGaps): the range is reused, no gap is recorded and nothing overlaps it', async () => {
  const topic = 'ov';
  await createTopic(kafka.admin, topic, 2);
  await send(topic, 0, 200, 42);
  await send(topic, 1, 1, 42);
  expect((await ingest('kp-ov-1', { source: src(topic), partitionRecords: 1_000 })).status).toBe('completed');
  await send(topic, 0, 100, 42, 200);
  await send(topic, 1, 1, 45);
  const partial = await ingest('kp-ov-2', { source: src(topic), partitionRecords: 1_000 });
  expect(partial.status).toBe('partial');
  expect((await snapshotRaw(topic, partial.snapshot!.number)).names).toEqual(['ov#0@0-200', 'ov#0@200-300', 'ov#1@0-1']);

  await deleteBefore(topic, 0, 250);
  await send(topic, 0, 50, 42, 300);
  served.add(45);
  const next = await ingest('kp-ov-3', { source: src(topic), partitionRecords: 1_000, allowGaps: true });
  expect(next.status).toBe('completed');
  expect(next.kafkaGaps).toBeUndefined();
  const raw = await snapshotRaw(topic, next.snapshot!.number);
  expect(raw.names).toEqual(['ov#0@0-200', 'ov#0@200-300', 'ov#0@300-350', 'ov#1@0-1', 'ov#1@1-2']);
  expect(raw.offsets.sort()).toEqual([...range(0, 350), ...range(0, 2, 1)].sort());
  const c = await committed(topic);
  expect({ offsets: c?.offsets, gaps: c?.gaps }).toEqual({ offsets: { 0: 350, 1: 2 }, gaps: [] });
});
