import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import path from 'node:path';
import pLimit from 'p-limit';
import { ContainerEncoder, syncMarkerFor } from '../../src/avro/container';
import { loadSchema } from '../../src/avro/schemas';

/** test/fixtures/schemas, where `item@1` ({id, label}) lives. */
export const FIXTURE_SCHEMAS = path.join(__dirname, '../fixtures/schemas');

/**
 * n source objects `src/<name(i)>`, each one `item@1` record {id: i, label: `l<i>`}: the many
 * small partitions of the window, cancel and reset tests. 16 PUTs at a time.
 */
export async function putItemObjects(s3: S3Client, bucket: string, n: number, name: (i: number) => string): Promise<void> {
  const item = loadSchema('item@1', FIXTURE_SCHEMAS);
  const limit = pLimit(16);
  await Promise.all(Array.from({ length: n }, (_, i) => limit(async () => {
    const enc = new ContainerEncoder(item.type, item.json, { codec: 'null', sync: syncMarkerFor(name(i)) });
    const body = Buffer.concat([enc.header(), enc.add({ id: i, label: `l${i}` }) ?? Buffer.alloc(0), enc.flush() ?? Buffer.alloc(0)]);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `src/${name(i)}`, Body: body }));
  })));
}
