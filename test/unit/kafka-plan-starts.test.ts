import { InvalidInputError } from '../../src/pipeline/input';
import { startOffsetsArg } from '../../src/cli/ingest-options';
import { inputProblems } from '../helpers/input';
import { isKafkaClientError, isKafkaUnreachable, kafkaCause } from '../../src/sources/kafka/errors';
import { knownTopicId, startOf, topicIdChanged, unknownStartPartitions } from '../../src/sources/kafka/starts';

const base = { pipeline: 'copy', source: 'kafka://127.0.0.1:9092/orders', target: 's3://lake/datasets/' };

const problems = inputProblems;

describe('where a Kafka partition starts', () => {
  test('without committed offsets, a run after a partial first run starts where that run started, not at startOffsets resolved again', () => {
    // Retention moved the log start to 200 since the first run started at 0: "earliest" would skip 0-199.
    expect(startOf(0, 200, 300, null, 'earliest', { 0: 0 })).toEqual({ start: 0, from: 'earlier run' });
    expect(startOf(0, 200, 300, null, 'latest', { 0: 50 })).toEqual({ start: 50, from: 'earlier run' });
    expect(startOf(1, 200, 300, null, 'earliest', { 0: 0 })).toEqual({ start: 200, from: 'earliest (new partition)' });
    // Committed offsets win.
    expect(startOf(0, 200, 300, { 0: 250 }, 'earliest', { 0: 0 })).toEqual({ start: 250, from: 'committed' });
  });

  test('startOffsets applies to the first run only; a partition new since starts at its earliest', () => {
    // First run (no committed offsets): startOffsets.
    expect(startOf(0, 5, 20, null, 'latest')).toEqual({ start: 20, from: 'startOffsets' });
    expect(startOf(0, 5, 20, null, 'earliest')).toEqual({ start: 5, from: 'startOffsets' });
    expect(startOf(1, 5, 20, null, { 1: 7 })).toEqual({ start: 7, from: 'startOffsets' });
    expect(startOf(2, 5, 20, null, { 1: 7 })).toEqual({ start: 5, from: 'startOffsets' });
    // Later runs: the committed offsets; a partition they do not name starts at the earliest, whatever startOffsets says.
    expect(startOf(0, 5, 20, { 0: 12 }, 'latest')).toEqual({ start: 12, from: 'committed' });
    expect(startOf(1, 0, 20, { 0: 12 }, 'latest')).toEqual({ start: 0, from: 'earliest (new partition)' });
    expect(startOf(1, 3, 20, { 0: 12 }, { 1: 15 })).toEqual({ start: 3, from: 'earliest (new partition)' });
  });

  test('startOffsets naming a partition the topic lacks is a problem', () => {
    expect(unknownStartPartitions('orders', 2, { 0: 1, 1: 2 })).toBeNull();
    expect(unknownStartPartitions('orders', 2, 'latest')).toBeNull();
    expect(unknownStartPartitions('orders', 2, { 0: 1, 5: 10 })).toBe('startOffsets names partition 5 of topic orders, which has partitions 0-1');
    expect(unknownStartPartitions('orders', 1, { 1: 1, 2: 1 })).toBe('startOffsets names partitions 1, 2 of topic orders, which has only partition 0');
  });

  test('a changed topic ID is refused; offsets without one, and brokers without topic IDs, are accepted', () => {
    const o = { topic: 'orders', dataset: 'orders', offsetsKey: 's3://b/datasets/orders/_sources/kafka/orders/000000000001.json' };
    expect(topicIdChanged({ ...o, committedId: 'aaaa', currentId: 'aaaa' })).toBeNull();
    expect(topicIdChanged({ ...o, committedId: undefined, currentId: 'aaaa' })).toBeNull();
    expect(topicIdChanged({ ...o, committedId: 'aaaa', currentId: '00000000-0000-0000-0000-000000000000' })).toBeNull();
    expect(knownTopicId('00000000-0000-0000-0000-000000000000')).toBeUndefined();
    const msg = topicIdChanged({ ...o, committedId: 'aaaa-old', currentId: 'bbbbbbbb-new' })!;
    expect(msg).toMatch(/^topic orders was deleted and created again: dataset orders's offsets \(s3:\/\/b\/datasets\/orders\/_sources\/kafka\/orders\/000000000001\.json\) were committed from topic ID aaaa-old, and the topic now has ID bbbbbbbb-new/);
    expect(msg).toContain('Ingest the new topic into a new dataset ("dataset": "orders-bbbbbbbb", or --dataset)');
    // The suggestion is a dataset name that input accepts: from the dataset, not the topic (__items is no dataset name).
    expect(topicIdChanged({ ...o, topic: '__items', dataset: 'items', committedId: 'aaaa-old', currentId: 'c46f1508-new' })).toContain('("dataset": "items-c46f1508", or --dataset)');
  });
});

describe('startOffsets input', () => {
  test('value.schema with JSON values is refused rather than ignored', () => {
    expect(problems({ ...base, value: { format: 'json', schema: 'birdstrike@1' } })).toEqual(['value.schema is for avro, avro-single-object and confluent values; "json" values are kept as their JSON text, unchecked against a schema']);
    expect(problems({ ...base, value: { format: 'json' } })).toEqual([]);
  });

  test('partition numbers must be canonical', () => {
    expect(problems({ ...base, startOffsets: { '01': 3 } })).toEqual(['startOffsets: "01" is not a partition number (write 1)']);
    expect(problems({ ...base, startOffsets: { '0': 3, '10': 1 } })).toEqual([]);
  });

  test('the CLI refuses a partition given twice, and keeps a number past 2^53 as typed', () => {
    expect(startOffsetsArg('0=1,2=5')).toEqual({ 0: 1, 2: 5 });
    expect(() => startOffsetsArg('0=1,0=2')).toThrow(InvalidInputError);
    expect(() => startOffsetsArg('0=1,0=2')).toThrow('--start-offsets names partition 0 twice (0=1,0=2)');
    const big = startOffsetsArg('0=9007199254740993');
    expect(big).toEqual({ 0: '9007199254740993' });
    expect(problems({ ...base, startOffsets: big })).toEqual(['startOffsets["0"] must be an offset (an integer >= 0), got "9007199254740993"']);
  });
});

describe('Kafka client failures', () => {
  // The shape @platformatic/kafka throws when no broker answers (seen against a closed port and an unknown host).
  const net = (host: string, code: string, text: string) => Object.assign(new Error(`Connection to ${host} failed.`), { code: 'PLT_KFK_NETWORK', cause: Object.assign(new Error(text), { code }) });
  const connectAll = (...e: Error[]) => Object.assign(new AggregateError(e, 'Cannot connect to any broker.'), { code: 'PLT_KFK_MULTIPLE' });
  const failed = Object.assign(new AggregateError([
    connectAll(net('127.0.0.1:1', 'ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'), net('nosuch.invalid:9092', 'ENOTFOUND', 'getaddrinfo ENOTFOUND nosuch.invalid')),
    connectAll(net('127.0.0.1:1', 'ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1')),
  ], 'metadata failed 4 times.'), { code: 'PLT_KFK_MULTIPLE' });

  test('the root causes, each once, instead of "metadata failed 4 times."', () => {
    expect(kafkaCause(failed)).toBe('connect ECONNREFUSED 127.0.0.1:1; getaddrinfo ENOTFOUND nosuch.invalid');
    expect(isKafkaUnreachable(failed)).toBe(true);
    expect(isKafkaClientError(failed)).toBe(true);
  });

  test('a protocol error is not "unreachable", and partflow\'s own errors are not client errors', () => {
    const proto = Object.assign(new Error('Unknown topic or partition.'), { code: 'PLT_KFK_PROTOCOL' });
    expect(isKafkaUnreachable(proto)).toBe(false);
    expect(isKafkaClientError(proto)).toBe(true);
    expect(kafkaCause(proto)).toBe('Unknown topic or partition.');
    expect(isKafkaClientError(new TypeError('x is undefined'))).toBe(false);
  });
});
