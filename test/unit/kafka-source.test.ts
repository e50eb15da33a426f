import { Type } from 'avsc';
import { resolveIngestInput, InvalidInputError } from '../../src/pipeline/input';
import { kafkaPartitionId } from '../../src/pipeline/partitioning/identity';
import { cutRange, rangeName } from '../../src/sources/kafka/ranges';
import { parseKafkaUrl } from '../../src/sources/kafka/source';
import { clientSettingsFromEnv } from '../../src/sources/kafka/client';
import { rawSchemaJson, singleObjectHeader, valueDecoder, ValueError } from '../../src/sources/kafka/values';
import { loadSchema } from '../../src/avro/schemas';
import { kraftClusterId } from '../../src/stack/kafka';

const base = { pipeline: 'copy', source: 'kafka://127.0.0.1:9092/orders', target: 's3://lake/datasets/' };

function problems(raw: unknown): string[] {
  try {
    resolveIngestInput(raw);
  } catch (err) {
    if (err instanceof InvalidInputError) return err.problems;
    throw err;
  }
  return [];
}

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
    expect(r.kafka).toEqual({ brokers: ['127.0.0.1:9092'], topic: 'orders', startOffsets: 'earliest', allowGaps: false, value: { format: 'json' } });
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

  test('an unknown schema id is a reject naming the id; a failing registry is a retryable error', async () => {
    const d = valueDecoder({ format: 'confluent', schema: 'birdstrike@1', registry: url });
    await expect(d(framed(8, Buffer.from([0])))).rejects.toThrow(ValueError);
    await expect(d(framed(8, Buffer.from([0])))).rejects.toThrow(/schema id 8 is not in the schema registry/);
    const down = d(framed(9, Buffer.from([0])));
    await expect(down).rejects.toThrow(/answered 500/);
    await expect(down).rejects.not.toBeInstanceOf(ValueError);
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
