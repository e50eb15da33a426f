import { S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { losslessTypeOf } from '../../src/avro/long';
import { Type } from 'avsc';
import * as schemas from '../../src/avro/schemas';
import { loadSchema } from '../../src/avro/schemas';
import { PartitionManifest } from '../../src/manifest/partition';
import { IngestSummary, RunManifest } from '../../src/manifest/run';
import { IngestInput } from '../../src/pipeline/input';
import { copyPipeline } from '../../src/pipelines/copy';
import { Producer } from '../../src/sources/kafka/lib';
import { readCommittedOffsets } from '../../src/sources/kafka/offsets';
import { s3Client } from '../../src/storage/client';
import { createTopic, LibMap, startTestBroker } from '../helpers/kafka';
import { decodeUrl, getJson } from '../helpers/s3';
import { startHarness, TestHarness } from '../helpers/stack';
import { runCli } from '../helpers/cli';
import { WorkflowFailedError } from '@temporalio/client';

/**
 * Hostile Kafka values on a real broker: whatever a message holds, the import writes only raw
 * and rejects objects partflow itself can read back, keeps every byte of a reject, and fails
 * (rather than rejects everything) when the schema registry is the wrong one.
 */
const BUCKET = 'kvalues';
const TARGET = `s3://${BUCKET}/datasets/`;
let kafka: Awaited<ReturnType<typeof startTestBroker>>;
let h: TestHarness;
let s3: S3Client;

const src = (topic: string) => `kafka://${kafka.broker.bootstrap}/${topic}`;

function ingest(id: string, input: Partial<IngestInput> & { source: string }): Promise<IngestSummary> {
  return h.client.workflow.execute('ingest', {
    taskQueue: h.cfg.taskQueue, workflowId: `${id}-${process.pid}`, workflowExecutionTimeout: '3m',
    args: [{ pipeline: 'copy', target: TARGET, waitForRetry: '0', ...input }],
  });
}

interface Msg { key?: Buffer; value: Buffer | null; headers?: [Buffer, Buffer][] }

/** Produces to partition 0, with header keys as raw bytes (the test helper takes strings only). */
async function send(topic: string, messages: Msg[]): Promise<void> {
  const producer = new Producer({ clientId: 'partflow-test-values', bootstrapBrokers: [kafka.broker.bootstrap], acks: -1, idempotent: true });
  try {
    await producer.send({ messages: messages.map((m) => ({ topic, partition: 0, key: m.key, value: m.value as Buffer, headers: m.headers ? new LibMap(m.headers) : undefined })) });
  } finally {
    await producer.close();
  }
}

async function partitionManifest(s: IngestSummary): Promise<PartitionManifest> {
  const run = await getJson<RunManifest>(s3, s.manifest);
  return getJson<PartitionManifest>(s3, run.committed.raw[0].manifest);
}

beforeAll(async () => {
  kafka = await startTestBroker('values');
  h = await startHarness('kafka-values', [copyPipeline], { bucket: BUCKET });
  s3 = s3Client(h.cfg.s3);
}, 180_000);

afterAll(async () => {
  await h?.stop();
  await kafka?.stop();
});

test('oversized values, bad JSON and non-UTF-8 header keys become rejects that keep headers and timestamp; a BOM is kept', async () => {
  const topic = 'edge';
  await createTopic(kafka.admin, topic, 1);
  const huge = Buffer.from(`"${'a'.repeat(59_998)}"`); // valid JSON, over the limit set below
  const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"b": 2}')]);
  await send(topic, [
    { key: Buffer.from('k0'), value: Buffer.from('{"ok": 1}'), headers: [[Buffer.from('h'), Buffer.from('x')]] },
    { key: Buffer.from('k1'), value: huge, headers: [[Buffer.from('big'), Buffer.from('y')]] },
    { value: Buffer.from('not json'), headers: [[Buffer.from('a'), Buffer.from('b')]] },
    { value: bom },
    { value: Buffer.from('{"c": 3}'), headers: [[Buffer.from([0xc3, 0x28]), Buffer.from('v')]] },
  ]);
  // A lowered record limit keeps the test data small; the import reads it when it runs.
  process.env.PARTFLOW_MAX_RECORD_BYTES = '50000';
  let s: IngestSummary;
  try {
    s = await ingest('kv-edge', { source: src(topic) });
  } finally {
    delete process.env.PARTFLOW_MAX_RECORD_BYTES;
  }
  expect(s.status).toBe('completed');
  const m = await partitionManifest(s);
  expect(s.stages.raw.records).toEqual({ in: 5, out: 2, rejected: 3, dropped: 0 });
  const raw = (await decodeUrl(s3, m.output.url)) as { offset: number; value: string; headers: { key: string }[] }[];
  expect(raw.map((r) => r.offset)).toEqual([0, 3]);
  expect(raw[0].headers.map((x) => x.key)).toEqual(['h']);
  expect(Buffer.from(raw[1].value, 'utf8')).toEqual(bom);

  type Bounded = string | { prefix: string; bytes: number; sha256: string };
  const rejects = (await decodeUrl(s3, m.rejects!.url)) as { index: number; reason: string; record: string }[];
  expect(rejects.map((r) => r.index)).toEqual([1, 2, 4]);
  const records = rejects.map((r) => JSON.parse(r.record) as { offset: number; timestamp: number; key: Bounded | null; headers: { key: string; value: string }[]; value: Bounded });

  expect(rejects[0].reason).toMatch(/^topic edge partition 0 offset 1: key, value and headers are 60006 bytes, over the limit of 50000 bytes \(PARTFLOW_MAX_RECORD_BYTES/);
  const big = records[0].value as Exclude<Bounded, string>;
  expect(big.bytes).toBe(huge.length);
  expect(big.sha256).toBe(createHash('sha256').update(huge).digest('hex'));
  expect(Buffer.from(big.prefix, 'base64')).toEqual(huge.subarray(0, 16 * 1024));
  expect(records[0].key).toBe(Buffer.from('k1').toString('base64'));

  expect(rejects[1].reason).toContain('offset 2: value is not JSON');
  expect(records[1].headers).toEqual([{ key: Buffer.from('a').toString('base64'), value: Buffer.from('b').toString('base64') }]);
  expect(records[1].timestamp).toBeGreaterThan(Date.now() - 10 * 60_000);

  expect(rejects[2].reason).toMatch(/^topic edge partition 0 offset 4: header 0's key \(2 bytes\) is not UTF-8 text/);
  expect(Buffer.from(records[2].headers[0].key, 'base64')).toEqual(Buffer.from([0xc3, 0x28]));
  expect(Buffer.from(records[2].value as string, 'base64').toString()).toBe('{"c": 3}');
});

test('Avro values with a long beyond 2^53 are ingested without loss', async () => {
  const topic = 'biglong';
  await createTopic(kafka.admin, topic, 1);
  const type = losslessTypeOf(loadSchema('birdstrike@1').type);
  const v = { ...(type.random() as unknown as Record<string, unknown>), cost_total_usd: 2n ** 63n - 1n };
  const body = type.toBuffer(v);
  await send(topic, [{ value: body }]);
  const s = await ingest('kv-biglong', { source: src(topic), value: { format: 'avro', schema: 'birdstrike@1' } });
  expect(s.stages.raw.records).toEqual({ in: 1, out: 1, rejected: 0, dropped: 0 });
  const [rec] = (await decodeUrl(s3, (await partitionManifest(s)).output.url)) as { value: Record<string, unknown> }[];
  expect(rec.value.cost_total_usd).toBe(2n ** 63n - 1n);
  expect(type.toBuffer(rec.value).equals(body)).toBe(true);
});

test('a dataset keeps its value settings: a run without them takes them (the CLI says so), a run with others is refused before anything is read', async () => {
  const topic = 'kformat';
  await createTopic(kafka.admin, topic, 1);
  const type = losslessTypeOf(loadSchema('birdstrike@1').type);
  const avro = (n: number) => Array.from({ length: n }, () => ({ value: type.toBuffer(type.random()) }));
  await send(topic, avro(2));
  expect((await ingest('kv-format-1', { source: src(topic), value: { format: 'avro', schema: 'birdstrike@1' } })).status).toBe('completed');
  await send(topic, avro(3));
  // Started from Temporal with no value settings: planning takes the dataset's.
  const second = await ingest('kv-format-2', { source: src(topic) });
  expect(second.stages.raw.records).toEqual({ in: 3, out: 3, rejected: 0, dropped: 0 });
  const plan = await getJson<{ kafka: { value: unknown } }>(s3, second.plan);
  expect(plan.kafka.value).toEqual({ format: 'avro', schema: 'birdstrike@1' });
  await send(topic, avro(1));
  // Started from Temporal with other settings: planning refuses it, not retried; the offsets stay.
  const err = await ingest('kv-format-3', { source: src(topic), value: { format: 'json' } }).then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const f = (err as WorkflowFailedError).cause!.cause as Error & { type?: string; nonRetryable?: boolean };
  expect(f.type).toBe('InvalidInput');
  expect(f.nonRetryable).toBe(true);
  const why = `value settings {"format":"json"} (--value-format json) differ from those of dataset kformat (${TARGET}kformat/), `
    + 'whose records were ingested with {"format":"avro","schema":"birdstrike@1"} (--value-format avro --value-schema birdstrike@1, recorded in its snapshot 2';
  expect(f.message).toContain(why);
  expect(f.message).toContain('--dataset kformat-json');
  expect((await readCommittedOffsets(s3, BUCKET, 'datasets/', topic, topic))?.offsets).toEqual({ 0: 5 });
  // The CLI refuses it before starting a run; with no value flags it takes the dataset's and says so.
  const refused = await runCli(h.cfg, 'ingest', 'copy', '--source', src(topic), '--target', TARGET, '--value-format', 'json', '--wait');
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain(`partflow: invalid ingest input: ${why}`);
  expect(refused.stderr).not.toMatch(/^started /m);
  const cli = await runCli(h.cfg, 'ingest', 'copy', '--source', src(topic), '--target', TARGET, '--wait', '--json');
  expect(cli.code).toBe(0);
  expect((JSON.parse(cli.stdout) as IngestSummary).stages.raw.records).toEqual({ in: 1, out: 1, rejected: 0, dropped: 0 });
  expect(cli.stderr).toContain('note: no value settings were given: this run decodes the values of topic kformat as dataset kformat holds them, '
    + '{"format":"avro","schema":"birdstrike@1"} (--value-format avro --value-schema birdstrike@1), from its snapshot 2');
});

test('a registry that answers 404 for the schema ids fails the partition (not retried), naming registry and id; offsets stay', async () => {
  const topic = 'registry';
  await createTopic(kafka.admin, topic, 1);
  const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, 42]), Buffer.from([0])]);
  await send(topic, [{ value: framed }, { value: framed }]);
  const asked: string[] = [];
  const server = http.createServer((req, res) => {
    asked.push(req.url ?? '');
    res.writeHead(404, { 'content-type': 'text/html' }).end('<html>Not Found</html>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const registry = `http://127.0.0.1:${(server.address() as { port: number }).port}/wrong`;
  try {
    const s = await ingest('kv-registry', { source: src(topic), value: { format: 'confluent', schema: 'birdstrike@1', registry } });
    expect(s.status).toBe('partial');
    expect(s.stages.raw.records.rejected).toBe(0);
    const [f] = s.stages.raw.failures;
    expect(f.attempts).toBe(1);
    expect(f.error).toContain(`topic registry partition 0: schema registry ${registry}: GET ${registry}/schemas/ids/42 answered 404`);
    expect(f.error).toContain('is the registry URL right?');
    expect(asked).toEqual(['/wrong/schemas/ids/42']);
    expect(await readCommittedOffsets(s3, BUCKET, 'datasets/', topic, topic)).toBeNull();
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('Avro values whose zero-byte array items would put the raw object over its budget are rejects, and the raw object reads back', async () => {
  // No schema of schemas/ has such an array, and the test must not add one there: this one is
  // served in place of loadSchema for its own name (the worker runs in this process).
  const json = JSON.stringify({ type: 'array', items: 'null' });
  const type = Type.forSchema(JSON.parse(json) as never);
  const real = schemas.loadSchema;
  const spy = jest.spyOn(schemas, 'loadSchema').mockImplementation((ref, dir) => (ref === 'ptest_nulls@1'
    ? { ref, name: 'ptest_nulls', version: 1, file: '(test)', json, type, fingerprint: 'test' }
    : real(ref, dir)));
  try {
    const topic = 'nulls';
    await createTopic(kafka.admin, topic, 1);
    // 4M items in 5 bytes each: two fit the default 10M per object, the third would not.
    const value = type.toBuffer(new Array(4_000_000).fill(null));
    expect(value.length).toBeLessThan(8);
    await send(topic, [{ value }, { value }, { value }]);
    const s = await ingest('kv-nulls', { source: src(topic), value: { format: 'avro', schema: 'ptest_nulls@1' } });
    expect(s.stages.raw.records).toEqual({ in: 3, out: 2, rejected: 1, dropped: 0 });
    const m = await partitionManifest(s);
    const raw = (await decodeUrl(s3, m.output.url)) as { value: unknown[] }[];
    expect(raw.map((r) => r.value.length)).toEqual([4_000_000, 4_000_000]);
    const [rej] = (await decodeUrl(s3, m.rejects!.url)) as { index: number; reason: string }[];
    expect(rej.index).toBe(2);
    expect(rej.reason).toMatch(/^topic nulls partition 0 offset 2: .*more items that take no bytes .* than the 10000000 allowed per raw object \(PARTFLOW_MAX_ZERO_BYTE_ITEMS\)/);
  } finally {
    spy.mockRestore();
  }
}, 120_000);
