import { WorkflowFailedError } from '@temporalio/client';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Type } from 'avsc';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadSchema } from '../../src/avro/schemas';
import { PartitionManifest } from '../../src/manifest/partition';
import { IngestSummary, RunManifest } from '../../src/manifest/run';
import { IngestInput } from '../../src/pipeline/input';
import { INHERIT_SCHEMA, PartitionError, PipelineDefinition } from '../../src/pipeline/types';
import { copyPipeline } from '../../src/pipelines/copy';
import { OffsetsCommit, readCommittedOffsets } from '../../src/sources/kafka/offsets';
import { singleObjectHeader } from '../../src/sources/kafka/values';
import { openConsumer } from '../../src/sources/kafka/client';
import { readRange, TopicRecreatedError } from '../../src/sources/kafka/reader';
import { s3Client } from '../../src/storage/client';
import { printSummary } from '../../src/cli/print';
import { parseS3Url } from '../../src/storage/s3url';
import { readSnapshot } from '../../src/snapshots/store';
import { verifyManifest } from '../../src/tools/verify';
import { runCli } from '../helpers/cli';
import { createTopic, produce, produceTransaction, startTestBroker } from '../helpers/kafka';
import { decodeUrl, getJson } from '../helpers/s3';
import { startHarness, TestHarness } from '../helpers/stack';

/**
 * Kafka sources on a real single-node KRaft broker of this file's own, with the real Temporal
 * and S3 of the test stack. Every wait is bounded by the workflows' execution timeouts.
 */
const BUCKET = 'kafka';
const TARGET = `s3://${BUCKET}/datasets/`;
let kafka: Awaited<ReturnType<typeof startTestBroker>>;
let h: TestHarness;
let s3: S3Client;
const flag = path.join(os.tmpdir(), `partflow-kafka-fail-${process.pid}`);

/** Copies raw records, but fails every partition (non-retryably) while the flag file exists. */
const flakyCopy: PipelineDefinition = {
  name: 'kflaky',
  stages: [{
    name: 'copy', schema: INHERIT_SCHEMA, version: '1',
    transform: (r) => {
      if (fs.existsSync(flag)) throw new PartitionError('the flag file says fail', { retryable: false });
      return r;
    },
  }],
};

function ingest(id: string, input: Partial<IngestInput> & { source: string }): Promise<IngestSummary> {
  return h.client.workflow.execute('ingest', {
    taskQueue: h.cfg.taskQueue, workflowId: `${id}-${process.pid}`, workflowExecutionTimeout: '3m',
    args: [{ pipeline: 'copy', target: TARGET, waitForRetry: '0', ...input }],
  });
}

const src = (topic: string) => `kafka://${kafka.broker.bootstrap}/${topic}`;
const committed = (dataset: string, topic: string): Promise<OffsetsCommit | null> => readCommittedOffsets(s3, BUCKET, 'datasets/', dataset, topic);

async function rawRecords(summary: IngestSummary): Promise<{ partition: number; offset: number; value: unknown; key: Buffer | null }[]> {
  const run = await getJson<RunManifest>(s3, summary.manifest);
  const out = [];
  for (const p of run.committed.raw) out.push(...((await decodeUrl(s3, p.output)) as { partition: number; offset: number; value: unknown; key: Buffer | null }[]));
  return out;
}

beforeAll(async () => {
  kafka = await startTestBroker('it');
  h = await startHarness('kafka', [copyPipeline, flakyCopy], { bucket: BUCKET });
  s3 = s3Client(h.cfg.s3);
}, 180_000);

afterAll(async () => {
  await h?.stop();
  await kafka?.stop();
  fs.rmSync(flag, { force: true });
});

describe('a topic of 100k messages over 3 partitions', () => {
  const topic = 'orders';
  const message = (i: number) => ({ partition: i % 3, key: `k${i}`, value: JSON.stringify({ i }), headers: { n: String(i) } });

  test('ingests exactly, then the next ingest takes exactly the 10k produced since', async () => {
    await createTopic(kafka.admin, topic, 3);
    await produce(kafka.broker.bootstrap, topic, Array.from({ length: 100_000 }, (_, i) => message(i)));
    const first = await ingest('k-orders-1', { source: src(topic), partitionRecords: 20_000 });
    expect(first.status).toBe('completed');
    // 33,334 + 33,333 + 33,333 offsets, cut at multiples of 20,000: two ranges per partition.
    expect(first.partitions).toBe(6);
    expect(first.stages.raw.records).toEqual({ in: 100_000, out: 100_000, rejected: 0, dropped: 0 });
    expect(first.stages.copy.records.out).toBe(100_000);
    const recs = await rawRecords(first);
    const seen = new Set(recs.map((r) => (JSON.parse(r.value as string) as { i: number }).i));
    expect(seen.size).toBe(100_000);
    // Every partition's offsets run 0..n-1 with nothing missing or doubled.
    for (const p of [0, 1, 2]) {
      const offs = recs.filter((r) => r.partition === p).map((r) => r.offset).sort((a, b) => a - b);
      expect(offs).toEqual(Array.from({ length: p === 0 ? 33_334 : 33_333 }, (_, i) => i));
    }
    expect(recs[0].key?.toString()).toMatch(/^k\d+$/);
    // Headers reach the raw records as sent: the message's number, under "n".
    for (const r of recs.slice(0, 50)) {
      const { headers, value } = r as unknown as { headers: { key: string; value: Buffer | null }[]; value: string };
      expect(headers.map((x) => [x.key, x.value?.toString()])).toEqual([['n', String((JSON.parse(value) as { i: number }).i)]]);
    }
    expect((await committed(topic, topic))?.offsets).toEqual({ 0: 33_334, 1: 33_333, 2: 33_333 });

    await produce(kafka.broker.bootstrap, topic, Array.from({ length: 10_000 }, (_, i) => message(100_000 + i)));
    const second = await ingest('k-orders-2', { source: src(topic), partitionRecords: 20_000 });
    expect(second.status).toBe('completed');
    expect(second.stages.raw.records.in).toBe(10_000);
    const more = await rawRecords(second);
    expect(new Set(more.map((r) => (JSON.parse(r.value as string) as { i: number }).i))).toEqual(new Set(Array.from({ length: 10_000 }, (_, i) => 100_000 + i)));
    const c = await committed(topic, topic);
    expect(c?.offsets).toEqual({ 0: 33_334 + 3_333, 1: 33_333 + 3_334, 2: 33_333 + 3_333 });
    expect(c?.seq).toBe(2);
    // The dataset's snapshot keeps the first run's ranges next to the new ones.
    const snap = await getJson<{ stages: Record<string, { records: number }[]>; changes: Record<string, { removed: unknown[] }> }>(s3, second.snapshot!.url);
    for (const stage of ['raw', 'copy']) {
      expect(snap.stages[stage]).toHaveLength(first.partitions + second.partitions);
      expect(snap.stages[stage].reduce((k, p) => k + p.records, 0)).toBe(110_000);
      expect(snap.changes[stage]?.removed ?? []).toEqual([]);
    }

    // Nothing new: a completed run of no partitions, offsets where they were.
    const third = await ingest('k-orders-3', { source: src(topic), partitionRecords: 20_000 });
    expect(third.status).toBe('completed');
    expect(third.partitions).toBe(0);
  });
});

test('a run that fails before the commit leaves the offsets, and the retry duplicates nothing', async () => {
  const topic = 'flaky';
  await createTopic(kafka.admin, topic, 2);
  await produce(kafka.broker.bootstrap, topic, Array.from({ length: 3_000 }, (_, i) => ({ partition: i % 2, value: JSON.stringify({ i }) })));
  fs.writeFileSync(flag, 'fail');
  const failed = await ingest('k-flaky-1', { source: src(topic), pipeline: 'kflaky', partitionRecords: 1_000 });
  expect(failed.status).toBe('partial');
  expect(failed.stages.raw.succeeded).toBe(4);
  expect(await committed(topic, topic)).toBeNull();

  fs.rmSync(flag);
  const retried = await ingest('k-flaky-2', { source: src(topic), pipeline: 'kflaky', partitionRecords: 1_000 });
  expect(retried.status).toBe('completed');
  // The same ranges: the raw partitions the failed run committed are reused, not written again.
  expect(retried.stages.raw.skipped).toBe(4);
  expect(retried.stages.copy.records.out).toBe(3_000);
  const recs = await rawRecords(retried);
  expect(recs).toHaveLength(3_000);
  expect(new Set(recs.map((r) => `${r.partition}@${r.offset}`)).size).toBe(3_000);
  expect((await committed(topic, topic))?.offsets).toEqual({ 0: 1_500, 1: 1_500 });
});

test('a partial run publishes its ranges; the next one, planned from the same offsets with more records, keeps them and reads only what came after', async () => {
  const topic = 'partial';
  const dataset = `${TARGET}${topic}/`;
  await createTopic(kafka.admin, topic, 2);
  await produce(kafka.broker.bootstrap, topic, Array.from({ length: 3_000 }, (_, i) => ({ partition: i % 2, value: JSON.stringify({ i }) })));
  fs.writeFileSync(flag, 'fail');
  const failed = await ingest('k-partial-1', { source: src(topic), pipeline: 'kflaky', partitionRecords: 1_000 });
  expect(failed.status).toBe('partial');
  expect(failed.snapshot?.number).toBe(1);
  expect(await committed(topic, topic)).toBeNull();
  // Snapshot 1 holds the raw ranges, the last of each partition ending at 1500.
  expect((await readSnapshot(s3, dataset, 1)).stages.raw.map((p) => p.name)).toEqual(['partial#0@0-1000', 'partial#0@1000-1500', 'partial#1@0-1000', 'partial#1@1000-1500']);

  fs.rmSync(flag);
  await produce(kafka.broker.bootstrap, topic, Array.from({ length: 200 }, (_, i) => ({ partition: i % 2, value: JSON.stringify({ i: 3_000 + i }) })));
  const next = await ingest('k-partial-2', { source: src(topic), pipeline: 'kflaky', partitionRecords: 1_000 });
  expect(next.status).toBe('completed');
  const snap = await readSnapshot(s3, dataset, next.snapshot!.number);
  for (const stage of ['raw', 'copy']) {
    expect(snap.stages[stage].map((p) => p.name)).toEqual(['partial#0@0-1000', 'partial#0@1000-1500', 'partial#0@1500-1600', 'partial#1@0-1000', 'partial#1@1000-1500', 'partial#1@1500-1600']);
    expect(snap.stages[stage].reduce((n, p) => n + p.records, 0)).toBe(3_200);
  }
  // The published raw ranges are reused, not read again: only the 200 new offsets are.
  expect(next.stages.raw.skipped).toBe(4);
  expect(snap.changes.raw).toEqual({ added: [expect.any(String), expect.any(String)], changed: [], removed: [] });
  expect((await committed(topic, topic))?.offsets).toEqual({ 0: 1_600, 1: 1_600 });
});

test('offsets past retention fail clearly; allowGaps skips them and records the gap', async () => {
  const topic = 'retained';
  await createTopic(kafka.admin, topic, 1);
  await produce(kafka.broker.bootstrap, topic, Array.from({ length: 100 }, (_, i) => ({ partition: 0, value: JSON.stringify({ i }) })));
  expect((await ingest('k-ret-1', { source: src(topic) })).status).toBe('completed');
  await produce(kafka.broker.bootstrap, topic, Array.from({ length: 100 }, (_, i) => ({ partition: 0, value: JSON.stringify({ i: 100 + i }) })));
  await kafka.admin.deleteRecords({ topics: [{ name: topic, partitions: [{ partition: 0, offset: 150n }] }] });

  const err = await ingest('k-ret-2', { source: src(topic) }).then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause as Error & { cause?: Error };
  const text = `${cause?.message} ${cause?.cause?.message ?? ''}`;
  expect(text).toContain('topic retained partition 0: offsets 100-149 are no longer on the broker');
  expect(text).toContain('allowGaps');
  expect((await committed(topic, topic))?.offsets).toEqual({ 0: 100 });

  const gapped = await ingest('k-ret-3', { source: src(topic), allowGaps: true });
  expect(gapped.status).toBe('completed');
  expect(gapped.stages.raw.records.in).toBe(50);
  const run = await getJson<RunManifest>(s3, gapped.manifest);
  const m = await getJson<PartitionManifest>(s3, run.committed.raw[0].manifest);
  expect(m.inputs[0].gaps).toEqual([[100, 150]]);
  // The plan's gap lies before the range [150, 200): every offset of the range is a record.
  expect({ range: m.inputs[0].range, in: m.counts.in, offsets: m.offsets }).toEqual({ range: [150, 200], in: 50, offsets: { control: 0, aborted: 0, compacted: 0, gaps: 0 } });
  const c = await committed(topic, topic);
  expect(c?.offsets).toEqual({ 0: 200 });
  expect(c?.gaps).toEqual([{ partition: 0, from: 100, to: 150 }]);
  // Said where the run is read: the summary (ingest --wait, status) and the run manifest.
  const shown = { ranges: 1, offsets: 50, first: [{ partition: 0, from: 100, to: 150 }] };
  expect(gapped.kafkaGaps).toEqual(shown);
  expect(run.kafkaGaps).toEqual(shown);
  let printed = '';
  printSummary(gapped, { write: (s: string) => { printed += s; return true; } } as unknown as typeof process.stdout);
  expect(printed).toContain('gaps:     50 offsets in 1 range no longer on the broker, skipped (allowGaps):\n           partition 0: 100-149');
});

test("an aborted transaction's records are not ingested, and control records are not counted", async () => {
  const topic = 'txn';
  await createTopic(kafka.admin, topic, 1);
  const batch = (tag: string, n: number) => Array.from({ length: n }, (_, i) => ({ partition: 0, value: JSON.stringify({ tag, i }) }));
  await produceTransaction(kafka.broker.bootstrap, topic, batch('committed-1', 10), 'commit');
  await produceTransaction(kafka.broker.bootstrap, topic, batch('aborted', 10), 'abort');
  await produce(kafka.broker.bootstrap, topic, batch('plain', 5));
  await produceTransaction(kafka.broker.bootstrap, topic, batch('committed-2', 10), 'commit');
  const s = await ingest('k-txn', { source: src(topic) });
  expect(s.status).toBe('completed');
  expect(s.stages.raw.records).toEqual({ in: 25, out: 25, rejected: 0, dropped: 0 });
  const tags = (await rawRecords(s)).map((r) => (JSON.parse(r.value as string) as { tag: string }).tag);
  expect(tags.filter((t) => t === 'aborted')).toHaveLength(0);
  expect(tags).toHaveLength(25);
  // 35 data records and 3 transaction markers: the offsets run to 38.
  expect((await committed(topic, topic))?.offsets).toEqual({ 0: 38 });
  // The manifest accounts for every one of the 38 offsets, and verify checks that it does.
  const url = (await getJson<RunManifest>(s3, s.manifest)).committed.raw[0].manifest;
  const m = await getJson<PartitionManifest>(s3, url);
  expect({ range: m.inputs[0].range, in: m.counts.in, offsets: m.offsets }).toEqual({ range: [0, 38], in: 25, offsets: { control: 3, aborted: 10, compacted: 0, gaps: 0 } });
  expect(await verifyManifest(s3, url)).toEqual([]);
  const loc = parseS3Url(url);
  const bad = { ...m, offsets: { ...m.offsets!, control: 2 } };
  await s3.send(new PutObjectCommand({ Bucket: loc.bucket, Key: loc.key, Body: JSON.stringify(bad), ContentType: 'application/json' }));
  expect((await verifyManifest(s3, url)).join('\n')).toContain('offsets do not add up: records in 25 + control 2 + aborted 10 + compacted 0 + gaps 0 = 37, but the range 0-38 holds 38 offsets');
  await s3.send(new PutObjectCommand({ Bucket: loc.bucket, Key: loc.key, Body: JSON.stringify(m), ContentType: 'application/json' }));
});

describe('values', () => {
  test('values that cannot be decoded become rejects with topic, partition and offset', async () => {
    const topic = 'badjson';
    await createTopic(kafka.admin, topic, 1);
    await produce(kafka.broker.bootstrap, topic, [
      { partition: 0, value: '{"ok": 1}' }, { partition: 0, value: 'not json' }, { partition: 0, value: Buffer.from([0xff, 0xfe]) }, { partition: 0, value: null }, { partition: 0, value: '[2]' },
    ]);
    const s = await ingest('k-badjson', { source: src(topic) });
    expect(s.stages.raw.records).toEqual({ in: 5, out: 3, rejected: 2, dropped: 0 });
    const run = await getJson<RunManifest>(s3, s.manifest);
    const m = await getJson<PartitionManifest>(s3, run.committed.raw[0].manifest);
    const rejects = (await decodeUrl(s3, m.rejects!.url)) as { index: number; reason: string; source: string; record: string }[];
    expect(rejects.map((r) => r.index)).toEqual([1, 2]);
    expect(rejects[0].reason).toContain('topic badjson partition 0 offset 1: value is not JSON');
    expect(rejects[1].reason).toContain('offset 2: value is not UTF-8 text');
    expect(rejects[0].source).toBe(`${src(topic)}#0`);
    expect(Buffer.from((JSON.parse(rejects[0].record) as { value: string }).value, 'base64').toString()).toBe('not json');
    const values = (await rawRecords(s)).map((r) => r.value);
    expect(values).toEqual(['{"ok": 1}', null, '[2]']);
  });

  test('Avro values, and Avro single-object encoding resolved by fingerprint', async () => {
    const schema = loadSchema('birdstrike@1');
    const type: Type = schema.type;
    const sample = type.random() as unknown;
    const body = type.toBuffer(sample);
    for (const [topic, format, good] of [['avro', 'avro', body], ['single', 'avro-single-object', Buffer.concat([singleObjectHeader(type), body])]] as const) {
      await createTopic(kafka.admin, topic, 1);
      await produce(kafka.broker.bootstrap, topic, [{ partition: 0, value: good }, { partition: 0, value: Buffer.from([0xc3, 0x01, 1, 2, 3]) }]);
      const s = await ingest(`k-${topic}`, { source: src(topic), value: { format, schema: 'birdstrike@1' } });
      expect(s.stages.raw.records).toEqual({ in: 2, out: 1, rejected: 1, dropped: 0 });
      const [rec] = await rawRecords(s);
      expect(type.toBuffer(rec.value).equals(body)).toBe(true);
    }
  });
});

test('the CLI starts a Kafka ingest (built dist/): --start-offsets per partition, and a bad value format is refused', async () => {
  const topic = 'cli';
  await createTopic(kafka.admin, topic, 2);
  await produce(kafka.broker.bootstrap, topic, Array.from({ length: 10 }, (_, i) => ({ partition: i % 2, value: JSON.stringify({ i }) })));
  const r = await runCli(h.cfg, 'ingest', 'copy', '--source', src(topic), '--target', TARGET, '--start-offsets', '0=3', '--wait', '--json');
  expect(r.code).toBe(0);
  const s = JSON.parse(r.stdout) as IngestSummary;
  // Partition 0 from offset 3 (2 of its 5), partition 1 from the earliest (all 5).
  expect(s.stages.raw.records.in).toBe(7);
  expect((await committed(topic, topic))?.offsets).toEqual({ 0: 5, 1: 5 });
  // A later run goes on from the committed offsets; startOffsets given again is ignored, and the CLI says so.
  await produce(kafka.broker.bootstrap, topic, [{ partition: 0, value: '{"i": 10}' }]);
  const later = await runCli(h.cfg, 'ingest', 'copy', '--source', src(topic), '--target', TARGET, '--start-offsets', 'latest', '--wait', '--json');
  expect(later.code).toBe(0);
  expect((JSON.parse(later.stdout) as IngestSummary).stages.raw.records.in).toBe(1);
  expect(later.stderr).toContain(`note: startOffsets is ignored: dataset cli already has committed offsets of topic cli (${TARGET}cli/_sources/kafka/cli/000000000001.json)`);
  // Refused before any run starts: a partition given twice, a partition number not written plainly.
  const twice = await runCli(h.cfg, 'ingest', 'copy', '--source', src(topic), '--target', TARGET, '--start-offsets', '0=1,0=2');
  expect(twice.code).not.toBe(0);
  expect(twice.stderr).toContain('--start-offsets names partition 0 twice (0=1,0=2)');
  const padded = await runCli(h.cfg, 'ingest', 'copy', '--source', src(topic), '--target', TARGET, '--dataset', 'cli-padded', '--start-offsets', '01=3');
  expect(padded.code).not.toBe(0);
  expect(padded.stderr).toMatch(/^partflow: invalid ingest input: startOffsets: "01" is not a partition number \(write 1\)$/m);
  const bad = await runCli(h.cfg, 'ingest', 'copy', '--source', src(topic), '--target', TARGET, '--value-format', 'protobuf', '--wait');
  // Refused before any run starts, with the reason.
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toMatch(/^partflow: invalid ingest input: value\.format must be one of json, avro, avro-single-object, confluent, got "protobuf"$/m);
  expect(bad.stderr).not.toMatch(/^started /m);
});

test('startOffsets "latest": the first run takes nothing and commits the ends; the next takes only what came after', async () => {
  const topic = 'latest';
  await createTopic(kafka.admin, topic, 1);
  await produce(kafka.broker.bootstrap, topic, Array.from({ length: 20 }, (_, i) => ({ partition: 0, value: JSON.stringify({ i }) })));
  const first = await ingest('k-latest-1', { source: src(topic), startOffsets: 'latest' });
  expect(first.partitions).toBe(0);
  expect((await committed(topic, topic))?.offsets).toEqual({ 0: 20 });
  await produce(kafka.broker.bootstrap, topic, Array.from({ length: 3 }, (_, i) => ({ partition: 0, value: JSON.stringify({ i: 20 + i }) })));
  const second = await ingest('k-latest-2', { source: src(topic), startOffsets: 'latest' });
  expect((await rawRecords(second)).map((r) => r.offset)).toEqual([20, 21, 22]);
});

test("a topic's dataset refuses the same topic name on another cluster, and an S3 prefix of that name, unless the dataset is given", async () => {
  const topic = 'named';
  await createTopic(kafka.admin, topic, 1);
  await produce(kafka.broker.bootstrap, topic, Array.from({ length: 5 }, (_, i) => ({ partition: 0, value: JSON.stringify({ i }) })));
  expect((await ingest('k-named-1', { source: src(topic) })).status).toBe('completed');
  const refusal = async (id: string, source: string) => {
    const err = await ingest(id, { source }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause?.cause as Error & { type?: string };
    expect(cause.type).toBe('DatasetConflict');
    return cause.message;
  };
  // Nothing listens on port 1: the refusal comes before any broker is asked.
  expect(await refusal('k-named-other', 'kafka://127.0.0.1:1/named')).toMatch(new RegExp(
    `^refusing to ingest kafka://127\\.0\\.0\\.1:1/named: its dataset name "named" comes from the source's topic \\(no "dataset" was given\\), and dataset ${TARGET}named/ already holds data of ${src(topic)} `));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'files/named/a.jsonl', Body: '{"i":1}\n' }));
  expect(await refusal('k-named-s3', `s3://${BUCKET}/files/named/`)).toMatch(/^refusing to ingest s3:\/\/kafka\/files\/named\/: .* already holds data of kafka:\/\//);
  // A broker list that shares a broker names the same cluster; the ingest goes on from the committed offsets.
  const more = await ingest('k-named-2', { source: `kafka://${kafka.broker.bootstrap},127.0.0.1:1/${topic}` });
  expect(more).toMatchObject({ status: 'completed', partitions: 0 });
  const given = await ingest('k-named-3', { source: `s3://${BUCKET}/files/named/`, dataset: 'named' });
  expect(given.status).toBe('completed');
});

/** The ApplicationFailure under a failed run's activity failure. */
async function failureOf(run: Promise<unknown>): Promise<Error & { type?: string; nonRetryable?: boolean }> {
  const err = await run.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  return (err as WorkflowFailedError).cause!.cause as Error & { type?: string; nonRetryable?: boolean };
}

test('a topic deleted and created again is refused by its topic ID, not read from the old offsets; a new dataset takes all of it', async () => {
  const topic = 'recreated';
  await createTopic(kafka.admin, topic, 1);
  await produce(kafka.broker.bootstrap, topic, Array.from({ length: 100 }, (_, i) => ({ partition: 0, value: JSON.stringify({ i }) })));
  expect((await ingest('k-recr-1', { source: src(topic) })).status).toBe('completed');
  const first = await committed(topic, topic);
  const oldId = (await kafka.admin.metadata({ topics: [topic], forceUpdate: true })).topics.get(topic)!.id;
  expect(first?.topicId).toBe(oldId);

  await kafka.admin.deleteTopics({ topics: [topic] });
  // The broker finishes a deletion in the background: create again until it takes.
  for (let i = 0; ; i++) {
    try {
      await createTopic(kafka.admin, topic, 1);
      break;
    } catch (err) {
      if (i > 50) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  await produce(kafka.broker.bootstrap, topic, Array.from({ length: 300 }, (_, i) => ({ partition: 0, value: JSON.stringify({ i: 1000 + i }) })));
  const newId = (await kafka.admin.metadata({ topics: [topic], forceUpdate: true })).topics.get(topic)!.id;
  expect(newId).not.toBe(oldId);

  const f = await failureOf(ingest('k-recr-2', { source: src(topic) }));
  expect(f.type).toBe('TopicRecreated');
  expect(f.message).toContain(`topic recreated was deleted and created again: dataset recreated's offsets (${TARGET}recreated/_sources/kafka/recreated/000000000001.json) were committed from topic ID ${oldId}, and the topic now has ID ${newId}`);
  expect(f.message).toContain('Ingest the new topic into a new dataset');
  expect((await committed(topic, topic))?.seq).toBe(1);

  const fresh = await ingest('k-recr-3', { source: src(topic), dataset: 'recreated-2' });
  expect(fresh.status).toBe('completed');
  expect((await rawRecords(fresh)).map((r) => r.offset)).toEqual(Array.from({ length: 300 }, (_, i) => i));
  expect((await committed('recreated-2', topic))?.topicId).toBe(newId);
});

test("an import reading with the plan's topic ID stops when the topic now has another (recreated after planning), before reading", async () => {
  const topic = 'recreated-late';
  await createTopic(kafka.admin, topic, 1);
  await produce(kafka.broker.bootstrap, topic, Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: JSON.stringify({ i }) })));
  const id = (await kafka.admin.metadata({ topics: [topic], forceUpdate: true })).topics.get(topic)!.id;
  const consumer = openConsumer([kafka.broker.bootstrap]);
  try {
    const read = async (topicId: string) => {
      const got: number[] = [];
      for await (const { msg } of readRange(consumer, topic, 0, 0, 10, { topicId })) got.push(msg.offset);
      return got;
    };
    expect(await read(id)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    const planned = 'AAAAAAAAAAAAAAAAAAAAAA';
    const err = await read(planned).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(TopicRecreatedError);
    expect((err as Error).message).toBe(`topic ${topic} was deleted and created again after the run was planned: the plan read topic ID ${planned}, the topic now has ID ${id}, whose offsets number other records`);
  } finally {
    await consumer.close();
  }
});

test('startOffsets "latest" is for the first run: a partition added later is read from its earliest offset', async () => {
  const topic = 'grown';
  await createTopic(kafka.admin, topic, 1);
  await produce(kafka.broker.bootstrap, topic, Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: JSON.stringify({ i }) })));
  const first = await ingest('k-grown-1', { source: src(topic), startOffsets: 'latest' });
  expect(first.partitions).toBe(0);
  expect((await committed(topic, topic))?.offsets).toEqual({ 0: 10 });
  // No assignments: the broker places the new partition (an empty list is refused).
  await kafka.admin.createPartitions({ topics: [{ name: topic, count: 2 } as Parameters<typeof kafka.admin.createPartitions>[0]['topics'][number]] });
  await produce(kafka.broker.bootstrap, topic, [0, 1, 2, 3].map((i) => ({ partition: i % 2, value: JSON.stringify({ i: 100 + i }) })));
  const second = await ingest('k-grown-2', { source: src(topic), startOffsets: 'latest' });
  expect(second.status).toBe('completed');
  const recs = await rawRecords(second);
  expect(recs.map((r) => `${r.partition}@${r.offset}`).sort()).toEqual(['0@10', '0@11', '1@0', '1@1']);
  const plan = await getJson<{ kafka: { startedFrom: Record<string, string> } }>(s3, second.plan);
  expect(plan.kafka.startedFrom).toEqual({ 0: 'committed', 1: 'earliest (new partition)' });
});

test('startOffsets naming a partition the topic does not have fails the first run, naming it', async () => {
  const topic = 'fewparts';
  await createTopic(kafka.admin, topic, 2);
  await produce(kafka.broker.bootstrap, topic, [0, 1, 2, 3].map((i) => ({ partition: i % 2, value: JSON.stringify({ i }) })));
  const f = await failureOf(ingest('k-fewparts', { source: src(topic), startOffsets: { 0: 1, 5: 10 } }));
  expect(f.type).toBe('InvalidInput');
  expect(f.message).toBe('startOffsets names partition 5 of topic fewparts, which has partitions 0-1');
  expect(await committed(topic, topic)).toBeNull();
});

test('unreachable brokers at plan time: a retryable failure naming the brokers, the topic and the causes, in bounded time', async () => {
  const t0 = Date.now();
  const f = await failureOf(ingest('k-unreachable', { source: 'kafka://127.0.0.1:1,nosuchhost.invalid:9092/nowhere', dataset: 'nowhere' }));
  expect(f.type).toBe('KafkaUnreachable');
  expect(f.nonRetryable).toBe(false);
  expect(f.message).toMatch(/^cannot reach the Kafka broker\(s\) for the metadata of topic nowhere from 127\.0\.0\.1:1,nosuchhost\.invalid:9092: /);
  expect(f.message).toContain('connect ECONNREFUSED 127.0.0.1:1');
  expect(f.message).toContain('ENOTFOUND nosuchhost.invalid');
  expect(f.message).not.toContain('metadata failed 4 times');
  // The count is planning's, not the client's tries within one attempt ("metadata failed 2 times.").
  expect(f.message).toMatch(/ \(planning attempt 5\)$/);
  expect(f.cause).toBeUndefined();
  // Five plan attempts of ~3 s each, with backoff between.
  expect(Date.now() - t0).toBeLessThan(120_000);
}, 150_000);
