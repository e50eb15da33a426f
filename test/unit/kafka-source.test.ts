import { Type } from 'avsc';
import { resolveIngestInput } from '../../src/pipeline/input';
import { inputProblems } from '../helpers/input';
import { kafkaPartitionId } from '../../src/pipeline/partitioning/identity';
import { cutRange, rangeName } from '../../src/sources/kafka/ranges';
import { parseKafkaUrl } from '../../src/sources/kafka/source';
import { brokerAddress, clientSettingsFromEnv, openConsumer } from '../../src/sources/kafka/client';
import { ConfigError } from '../../src/config/errors';
import { kafkaCause } from '../../src/sources/kafka/errors';
import { rawSchemaJson, RegistryMisconfiguredError, singleObjectHeader, valueDecoder, ValueError } from '../../src/sources/kafka/values';
import { judgeValueSettings } from '../../src/sources/kafka/dataset-value';
import type { KafkaSource, KafkaValueSettings } from '../../src/sources/kafka/source';
import { ZeroByteBudget } from '../../src/sources/kafka/zero-byte-budget';
import { rejectRecord } from '../../src/sources/kafka/message';
import { OffsetsGoneError } from '../../src/sources/kafka/reader';
import { createHash } from 'node:crypto';
import { loadSchema } from '../../src/avro/schemas';
import { kraftClusterId } from '../../src/stack/kafka';

const base = { pipeline: 'copy', source: 'kafka://127.0.0.1:9092/orders', target: 's3://lake/datasets/' };

const problems = inputProblems;

describe('kafka:// sources', () => {
  test('parses brokers and topic', () => {
    expect(parseKafkaUrl('kafka://a:9092,b.example:19092/orders.v1')).toEqual({ brokers: ['a:9092', 'b.example:19092'], topic: 'orders.v1' });
    expect(() => parseKafkaUrl('kafka://a:9092')).toThrow(/names no topic/);
    expect(() => parseKafkaUrl('kafka://a/orders')).toThrow(/not host:port/);
    expect(() => parseKafkaUrl('kafka://a:9092/bad topic')).toThrow(/not a Kafka topic name/);
  });

  test('resolves with defaults: dataset from the topic, earliest, no gaps, JSON values', () => {
    const r = resolveIngestInput(base);
    expect(r.dataset).toBe('orders');
    expect(r.kafka).toEqual({ brokers: ['127.0.0.1:9092'], topic: 'orders', startOffsets: 'earliest', allowGaps: false, value: { format: 'json' }, valueDefaulted: true });
    expect(resolveIngestInput({ ...base, value: { format: 'json' } }).kafka!.valueDefaulted).toBeUndefined();
    expect(r.sourceBucket).toBe('');
    expect(resolveIngestInput({ ...base, source: 'kafka://h:1/orders.v1' }).dataset).toBe('orders.v1');
  });

  test('startOffsets, allowGaps and value are checked and listed together', () => {
    expect(resolveIngestInput({ ...base, startOffsets: { 0: 10, 2: 0 } }).kafka!.startOffsets).toEqual({ 0: 10, 2: 0 });
    const p = problems({ ...base, target: undefined, startOffsets: { x: -1 }, allowGaps: 'yes', value: { format: 'avro' }, format: 'csv' });
    expect(p.join('\n')).toMatch(/needs "target"/);
    expect(p.join('\n')).toMatch(/"x" is not a partition number/);
    expect(p.join('\n')).toMatch(/allowGaps must be true or false/);
    expect(p.join('\n')).toMatch(/value.format "avro" needs value.schema/);
    expect(p.join('\n')).toMatch(/"format" is for S3 sources/);
    expect(problems({ ...base, value: { format: 'confluent', schema: 'birdstrike@1' } }).join()).toMatch(/needs value.registry/);
    // Accepted, it would look as if the registry were used.
    expect(problems({ ...base, value: { format: 'json', registry: 'http://r:8081' } })).toEqual(['value.registry is for confluent values (whose writer schemas it serves); "json" values never ask it']);
    expect(problems({ ...base, value: { format: 'avro', schema: 'birdstrike@1', registry: 'http://r:8081' } }).join()).toMatch(/"avro" values never ask it/);
    expect(problems({ pipeline: 'copy', source: 's3://b/x/', allowGaps: true }).join()).toMatch(/"allowGaps" is only for kafka:\/\/ sources/);
  });

  test('ranges are cut on multiples of the size, so a re-run plans the same cuts', () => {
    expect(cutRange(1, 1500, 4200, 1000)).toEqual([
      { partition: 1, start: 1500, end: 2000 }, { partition: 1, start: 2000, end: 3000 }, { partition: 1, start: 3000, end: 4000 }, { partition: 1, start: 4000, end: 4200 },
    ]);
    // The high watermark moved on: every range but the last partial one is the same.
    expect(cutRange(1, 1500, 5100, 1000).slice(0, 3)).toEqual(cutRange(1, 1500, 4200, 1000).slice(0, 3));
    expect(cutRange(0, 7, 7, 10)).toEqual([]);
    expect(() => cutRange(0, 9, 7, 10)).toThrow(/bad offset range/);
    expect(rangeName('orders', { partition: 2, start: 1000, end: 2000 })).toBe('orders#2@1000-2000');
    expect(kafkaPartitionId('orders', 2, 1000, 2000)).toBe(kafkaPartitionId('orders', 2, 1000, 2000));
    expect(kafkaPartitionId('orders', 2, 1000, 2000)).not.toBe(kafkaPartitionId('orders', 1, 1000, 2000));
  });

  test('client settings come from the environment', () => {
    expect(clientSettingsFromEnv({})).toEqual({ clientId: 'partflow' });
    expect(clientSettingsFromEnv({ PARTFLOW_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512', PARTFLOW_KAFKA_SASL_USERNAME: 'u', PARTFLOW_KAFKA_SASL_PASSWORD: 'p', PARTFLOW_KAFKA_TLS: '1' }))
      .toEqual({ clientId: 'partflow', sasl: { mechanism: 'SCRAM-SHA-512', username: 'u', password: 'p' }, tls: { ca: undefined, cert: undefined, key: undefined } });
    expect(() => clientSettingsFromEnv({ PARTFLOW_KAFKA_SASL_MECHANISM: 'MD5' })).toThrow(/expected one of/);
    expect(() => clientSettingsFromEnv({ PARTFLOW_KAFKA_SASL_MECHANISM: 'PLAIN' })).toThrow(/USERNAME and PARTFLOW_KAFKA_SASL_PASSWORD/);
    expect(() => clientSettingsFromEnv({ PARTFLOW_KAFKA_TLS_CA: '/nonexistent/ca.pem' })).toThrow(/PARTFLOW_KAFKA_TLS_CA=\/nonexistent\/ca.pem: cannot read it/);
    // The spellings PARTFLOW_S3_PATH_STYLE takes; anything else is refused, not read as "no TLS".
    for (const on of ['true', 'TRUE', '1']) expect(clientSettingsFromEnv({ PARTFLOW_KAFKA_TLS: on }).tls).toBeDefined();
    for (const off of ['false', '0', '']) expect(clientSettingsFromEnv({ PARTFLOW_KAFKA_TLS: off }).tls).toBeUndefined();
    expect(() => clientSettingsFromEnv({ PARTFLOW_KAFKA_TLS: 'on' })).toThrow(ConfigError);
  });
});

describe('Kafka values', () => {
  const type = loadSchema('birdstrike@1').type;

  test('the raw schema keeps coordinates, key, timestamp and headers next to the value', () => {
    const raw = Type.forSchema(JSON.parse(rawSchemaJson({ format: 'avro', schema: 'birdstrike@1' })));
    expect((raw as unknown as { fields: { name: string }[] }).fields.map((f) => f.name)).toEqual(['topic', 'partition', 'offset', 'timestamp', 'key', 'headers', 'value']);
  });

  test('JSON: kept as text when it parses, a ValueError when not', async () => {
    const d = valueDecoder({ format: 'json' });
    await expect(d(Buffer.from('{"a": 1}'))).resolves.toBe('{"a": 1}');
    await expect(d(Buffer.from('{"a": '))).rejects.toThrow(ValueError);
    await expect(d(Buffer.from([0xff]))).rejects.toThrow(/not UTF-8/);
  });

  test('JSON: a leading UTF-8 byte order mark is kept, not dropped', async () => {
    const d = valueDecoder({ format: 'json' });
    const text = (await d(Buffer.from('\uFEFF{"a": 1}'))) as string;
    expect(Buffer.from(text, 'utf8')).toEqual(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a": 1}')]));
  });

  test('Avro: a long beyond 2^53 decodes without loss (a bigint), as in Avro files', async () => {
    const v = { ...(type.random() as unknown as Record<string, unknown>), cost_total_usd: 9007199254740993n };
    const body = (await import('../../src/avro/long')).losslessTypeOf(type).toBuffer(v);
    for (const [format, value] of [['avro', body], ['avro-single-object', Buffer.concat([singleObjectHeader(type), body])]] as const) {
      const got = (await valueDecoder({ format, schema: 'birdstrike@1' })(value)) as Record<string, unknown>;
      expect(got.cost_total_usd).toBe(9007199254740993n);
    }
  });

  test('zero-byte array items are charged per raw object: a value that would go over is a reject, and spends nothing', () => {
    const t = Type.forSchema({ type: 'array', items: 'null' });
    const b = new ZeroByteBudget(0, 10);
    b.charge(t, new Array(6).fill(null));
    expect(b.spent).toBe(6);
    expect(() => b.charge(t, new Array(6).fill(null))).toThrow(ValueError);
    expect(() => b.charge(t, new Array(6).fill(null))).toThrow(/more items that take no bytes .* than the 10 allowed per raw object/);
    expect(b.spent).toBe(6);
    b.charge(t, new Array(4).fill(null));
    // A resumed attempt starts from what the checkpoint says the object holds.
    expect(() => new ZeroByteBudget(8, 10).charge(t, [null, null, null])).toThrow(ValueError);
  });

  test('a reject keeps offset, timestamp, key, headers (bytes keys too) and value; an oversized one keeps bounded prefixes', () => {
    const msg = { offset: 5, timestamp: 1700000000000, key: Buffer.from('k'), headers: [{ key: Buffer.from([0xff, 0x00]), value: Buffer.from('v') }, { key: Buffer.from('n'), value: null }], value: Buffer.from('hello') };
    expect(JSON.parse(rejectRecord(msg, 1000))).toEqual({
      offset: 5, timestamp: 1700000000000, key: 'aw==', headers: [{ key: '/wA=', value: 'dg==' }, { key: 'bg==', value: null }], value: Buffer.from('hello').toString('base64'),
    });
    const big = Buffer.alloc(100_000, 7);
    const r = JSON.parse(rejectRecord({ ...msg, value: big }, 50_000)) as { value: { prefix: string; bytes: number; sha256: string }; key: string };
    expect(r.key).toBe('aw==');
    expect(r.value.bytes).toBe(100_000);
    expect(r.value.sha256).toBe(createHash('sha256').update(big).digest('hex'));
    expect(Buffer.from(r.value.prefix, 'base64')).toEqual(big.subarray(0, 16 * 1024));
  });

  test('single-object: C3 01, the CRC-64-AVRO fingerprint, then the body', async () => {
    const v = type.random();
    const header = singleObjectHeader(type);
    expect(header.subarray(0, 2)).toEqual(Buffer.from([0xc3, 0x01]));
    const d = valueDecoder({ format: 'avro-single-object', schema: 'birdstrike@1' });
    const got = await d(Buffer.concat([header, type.toBuffer(v)]));
    expect(type.toBuffer(got).equals(type.toBuffer(v))).toBe(true);
    const unknown = Buffer.from(header);
    unknown.writeBigUInt64LE(12345n, 2);
    await expect(d(Buffer.concat([unknown, type.toBuffer(v)]))).rejects.toThrow(/not among schemas\//);
    await expect(d(Buffer.from('plain'))).rejects.toThrow(/no C3 01 header/);
  });

  test('confluent: magic byte 0 and a schema id, or a reject', async () => {
    const d = valueDecoder({ format: 'confluent', schema: 'birdstrike@1', registry: 'http://127.0.0.1:1' });
    await expect(d(Buffer.from([1, 0, 0, 0, 1, 2]))).rejects.toThrow(/not in the Confluent wire format/);
  });
});

/**
 * No Schema Registry installs from the package registries here (Karapace is not on PyPI, Apicurio
 * has no runnable jar on Maven Central), so this stand-in serves the one endpoint partflow calls,
 * `GET /schemas/ids/{id}`, with the Confluent API's response shape.
 */
describe('Confluent wire format through a registry endpoint', () => {
  const type = loadSchema('birdstrike@1').type;
  let server: import('node:http').Server;
  let url = '';
  const asked: string[] = [];

  beforeAll(async () => {
    const http = await import('node:http');
    server = http.createServer((req, res) => {
      asked.push(req.url ?? '');
      if (req.url === '/schemas/ids/7') {
        res.writeHead(200, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
        res.end(JSON.stringify({ schema: JSON.stringify(type.schema()) }));
      } else if (req.url?.startsWith('/wrong/')) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not here');
      } else if (req.url === '/schemas/ids/9') {
        res.writeHead(500).end('registry down');
      } else {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error_code":40403,"message":"Schema not found"}');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const framed = (id: number, body: Buffer) => {
    const head = Buffer.alloc(5);
    head.writeUInt32BE(id, 1);
    return Buffer.concat([head, body]);
  };

  test('the writer schema comes from the registry (once per id), values decode to the records', async () => {
    const d = valueDecoder({ format: 'confluent', schema: 'birdstrike@1', registry: url });
    const records = [type.random(), type.random(), type.random()];
    for (const r of records) {
      const got = await d(framed(7, type.toBuffer(r)));
      expect(type.toBuffer(got).equals(type.toBuffer(r))).toBe(true);
    }
    expect(asked.filter((u) => u === '/schemas/ids/7')).toHaveLength(1);
  });

  test('an unknown schema id is a reject naming the id once an id resolved; a failing registry is a retryable error', async () => {
    const d = valueDecoder({ format: 'confluent', schema: 'birdstrike@1', registry: url });
    await d(framed(7, type.toBuffer(type.random())));
    await expect(d(framed(8, Buffer.from([0])))).rejects.toThrow(ValueError);
    await expect(d(framed(8, Buffer.from([0])))).rejects.toThrow(/schema id 8 is not in the schema registry/);
    const down = d(framed(9, Buffer.from([0])));
    await expect(down).rejects.toThrow(/answered 500/);
    await expect(down).rejects.not.toBeInstanceOf(ValueError);
  });

  test('a registry that cannot be reached says why (the socket error), not only "fetch failed"', async () => {
    const http = await import('node:http');
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const d = valueDecoder({ format: 'confluent', schema: 'birdstrike@1', registry: `http://127.0.0.1:${port}` });
    await expect(d(framed(7, Buffer.from([0])))).rejects.toThrow(`schema registry http://127.0.0.1:${port}/schemas/ids/7: fetch failed: connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  test('an unknown id before any resolved, or a 404 that is not the registry\'s, is a misconfigured registry, not a reject', async () => {
    const first = valueDecoder({ format: 'confluent', schema: 'birdstrike@1', registry: url });
    await expect(first(framed(8, Buffer.from([0])))).rejects.toThrow(RegistryMisconfiguredError);
    await expect(first(framed(8, Buffer.from([0])))).rejects.toThrow(new RegExp(`schema id 8 is not in the schema registry ${url}, and no schema id of this partition`));
    const wrong = valueDecoder({ format: 'confluent', schema: 'birdstrike@1', registry: `${url}/wrong` });
    await expect(wrong(framed(7, Buffer.from([0])))).rejects.toThrow(RegistryMisconfiguredError);
    await expect(wrong(framed(7, Buffer.from([0])))).rejects.toThrow(/answered 404 "not here", not a registry's "schema not found"/);
  });
});

describe('kraftClusterId', () => {
  // A CI run drew an id starting with '-', which StorageTool's argument parser read as an option.
  it('is 22 URL-safe base64 characters that never start with a dash', () => {
    for (let i = 0; i < 5000; i += 1) {
      const id = kraftClusterId();
      expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    }
  });
});

describe('a dataset keeps its value settings', () => {
  const src = (value: KafkaValueSettings, defaulted = false): KafkaSource => ({ brokers: ['h:1'], topic: 't', startOffsets: 'earliest', allowGaps: false, value, ...(defaulted ? { valueDefaulted: true as const } : {}) });
  const recorded = { value: { format: 'confluent' as const, schema: 'o@1', registry: 'http://r:8081' }, where: 'snapshot 4 (plan s3://b/p.json)' };

  test('the same settings (a registry less its trailing "/") run; a first run has nothing to match', () => {
    expect(judgeValueSettings(src({ format: 'confluent', schema: 'o@1', registry: 'http://r:8081/' }), 'd', 's3://b/d/', recorded)).toEqual({});
    expect(judgeValueSettings(src({ format: 'json' }), 'd', 's3://b/d/', null)).toEqual({});
  });

  test('other settings are refused, naming both; none given take the dataset\'s, with a note', () => {
    const v = judgeValueSettings(src({ format: 'confluent', schema: 'o@2', registry: 'http://r:8081' }), 'd', 's3://b/d/', recorded);
    expect(v.refusal).toContain('value settings {"format":"confluent","schema":"o@2","registry":"http://r:8081"} (--value-format confluent --value-schema o@2 --registry http://r:8081) differ from those of dataset d (s3://b/d/), '
      + 'whose records were ingested with {"format":"confluent","schema":"o@1","registry":"http://r:8081"}');
    expect(v.refusal).toContain('--dataset d-confluent');
    const a = judgeValueSettings(src({ format: 'json' }, true), 'd', 's3://b/d/', recorded);
    expect(a.adopt?.value).toEqual(recorded.value);
    expect(a.adopt?.note).toContain('from its snapshot 4 (plan s3://b/p.json)');
  });
});

describe('offsets gone while reading', () => {
  test('name the offsets of the range that failed, not the whole span below the log start', () => {
    expect(new OffsetsGoneError('part2', 1, 90000, 200000, { start: 90000, end: 95000 }).message)
      .toBe('topic part2 partition 1: offsets 90000-94999 (all of range 90000-95000) are no longer on the broker (its log now starts at 200000, past retention)');
    expect(new OffsetsGoneError('t', 0, 92000, 93000, { start: 90000, end: 95000 }).message)
      .toBe('topic t partition 0: offsets 92000-92999 of range 90000-95000 are no longer on the broker (its log now starts at 93000, past retention)');
  });
});

describe('IPv6 brokers', () => {
  test('"[v6]:port" is the address and port, which the client connects to (it split the string at its first ":" and looked up "[")', async () => {
    expect(parseKafkaUrl('kafka://[::1]:17310,h:9092/orders').brokers).toEqual(['[::1]:17310', 'h:9092']);
    expect(brokerAddress('[::1]:17310')).toEqual({ host: '::1', port: 17310 });
    expect(brokerAddress('kafka.example:9092')).toEqual({ host: 'kafka.example', port: 9092 });
    const net = await import('node:net');
    const seen: string[] = [];
    const server = net.createServer((c) => { seen.push(c.remoteAddress ?? ''); c.destroy(); });
    await new Promise<void>((resolve) => server.listen(0, '::1', resolve));
    const port = (server.address() as { port: number }).port;
    const consumer = openConsumer([`[::1]:${port}`], { clientId: 'partflow-test' }, { requestTimeout: 2000, retries: 0 });
    try {
      const err = await consumer.metadata({ topics: ['t'] }).then(() => null, (e: unknown) => e);
      expect(kafkaCause(err)).not.toMatch(/ENOTFOUND/);
      expect(seen).toContain('::1');
    } finally {
      await consumer.close().catch(() => undefined);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
