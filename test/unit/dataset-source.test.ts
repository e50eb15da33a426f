import { judgeSource, RecordedSource, sameSource } from '../../src/pipeline/dataset-source';

const marker = (source: string): RecordedSource => ({ source, where: 'its _partflow.json', resolved: true });
const legacy = (source: string): RecordedSource => ({ source, where: 'snapshot 3, its latest', resolved: false });
const DS = 's3://out/datasets/orders/';

describe('sameSource', () => {
  it('takes a prefix with or without its trailing "/" as one source', () => {
    expect(sameSource('s3://bkt/2024/orders/', 's3://bkt/2024/orders')).toBe(true);
    expect(sameSource('s3://bkt/2024/orders', 's3://bkt/2024/orders/')).toBe(true);
    expect(sameSource('s3://bkt/', 's3://bkt')).toBe(true);
  });

  it('tells apart prefixes, buckets, and an object from a prefix', () => {
    expect(sameSource('s3://bkt/2024/orders/', 's3://bkt/2025/orders/')).toBe(false);
    expect(sameSource('s3://a/orders/', 's3://bkt/orders/')).toBe(false);
    expect(sameSource('s3://bkt/x/orders.csv', 's3://bkt/x/orders/')).toBe(false);
    expect(sameSource('s3://bkt/x/orders.csv', 's3://bkt/x/')).toBe(false);
    expect(sameSource('s3://bkt/x/Orders/', 's3://bkt/x/orders/')).toBe(false);
  });

  it('as planning resolved them, an object "x/orders" and the prefix "x/orders/" differ', () => {
    expect(sameSource('s3://bkt/x/orders', 's3://bkt/x/orders/', true)).toBe(false);
    expect(sameSource('s3://bkt/x/orders/', 's3://bkt/x/orders/', true)).toBe(true);
  });

  it('takes a topic on broker lists that share a broker as one Kafka source', () => {
    expect(sameSource('kafka://k1:9092,k2:9092/orders', 'kafka://K2:9092/orders')).toBe(true);
    expect(sameSource('kafka://k1:9092/orders', 'kafka://k9:9092/orders')).toBe(false);
    expect(sameSource('kafka://k1:9092/orders', 'kafka://k1:9092/_orders')).toBe(false);
    expect(sameSource('kafka://k1:9092/orders', 's3://bkt/orders/')).toBe(false);
  });
});

describe('judgeSource', () => {
  it('refuses a defaulted dataset name that another source created, naming both, the dataset and the fix', () => {
    const v = judgeSource({ dataset: 'orders', datasetDefaulted: true }, 's3://bkt/2025/orders/', marker('s3://bkt/2024/orders/'), DS, true);
    expect(v.note).toBeUndefined();
    expect(v.refusal).toBe('refusing to ingest s3://bkt/2025/orders/: its dataset name "orders" comes from the source\'s last path segment (no "dataset" was given), '
      + 'and dataset s3://out/datasets/orders/ already holds data of s3://bkt/2024/orders/ (recorded in its _partflow.json). '
      + 'Both sources in one dataset would make each run\'s snapshot drop the other\'s partitions. '
      + 'Give this source a dataset of its own ("dataset": "2025-orders", or --dataset 2025-orders), or give "dataset": "orders" (--dataset orders) to ingest it into that dataset on purpose');
  });

  it('says what sharing a dataset breaks for Kafka sources: the offsets of one topic name, or an S3 run\'s snapshot', () => {
    const kk = judgeSource({ dataset: 'orders', datasetDefaulted: true }, 'kafka://k9:9092/orders', marker('kafka://k1:9092/orders'), DS, true);
    expect(kk.refusal).toContain('already holds data of kafka://k1:9092/orders (recorded in its _partflow.json). Both topics in one dataset would share its committed offsets, so each would be read from where the other stopped. Give');
    expect(kk.refusal).not.toContain('drop');
    const sk = judgeSource({ dataset: 'orders', datasetDefaulted: true }, 's3://bkt/orders/', marker('kafka://k1:9092/orders'), DS, true);
    expect(sk.refusal).toContain('Both sources in one dataset would make each S3 run\'s snapshot drop the topic\'s partitions.');
  });

  it('lets an explicit dataset take another source, with a note', () => {
    const v = judgeSource({ dataset: 'orders' }, 's3://new-bucket/orders/', marker('s3://old-bucket/orders/'), DS, true);
    expect(v.refusal).toBeUndefined();
    expect(v.note).toBe('dataset s3://out/datasets/orders/ already holds data of s3://old-bucket/orders/ (recorded in its _partflow.json); this ingest writes s3://new-bucket/orders/ into it, as its "dataset" was given');
  });

  it('passes the same source, a new dataset, and a legacy source compared without its "/"', () => {
    expect(judgeSource({ dataset: 'orders', datasetDefaulted: true }, 's3://bkt/2024/orders/', marker('s3://bkt/2024/orders/'), DS, true)).toEqual({});
    expect(judgeSource({ dataset: 'orders', datasetDefaulted: true }, 's3://bkt/2024/orders/', null, DS, true)).toEqual({});
    // Plans record the source as typed: "s3://bkt/2024/orders" was the prefix, as now.
    expect(judgeSource({ dataset: 'orders', datasetDefaulted: true }, 's3://bkt/2024/orders/', legacy('s3://bkt/2024/orders'), DS, true)).toEqual({});
  });

  it('says "topic" for a Kafka source and suggests a name from its broker', () => {
    const v = judgeSource({ dataset: 'orders', datasetDefaulted: true }, 'kafka://kafka2:9092/orders', marker('kafka://kafka1:9092/orders'), DS);
    expect(v.refusal).toMatch(/^refusing to ingest kafka:\/\/kafka2:9092\/orders: its dataset name "orders" comes from the source's topic \(no "dataset" was given\)/);
    expect(v.refusal).toMatch(/"dataset": "kafka2-orders", or --dataset kafka2-orders/);
  });

  it('suggests <bucket>-<name> for a source at the top of its bucket', () => {
    expect(judgeSource({ dataset: 'orders', datasetDefaulted: true }, 's3://new/orders/', marker('s3://old/orders/'), DS).refusal).toMatch(/--dataset new-orders\)/);
  });
});
