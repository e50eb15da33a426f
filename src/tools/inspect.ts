import { S3Client } from '@aws-sdk/client-s3';
import { ContainerReader } from '../avro/container-reader';
import { getObjectStream, headObject } from '../storage/objects';
import { formatS3Url, parseS3Url } from '../storage/s3url';
import { progressBar } from './progress';

export interface Inspection {
  url: string;
  size: number;
  codec: string;
  schema: unknown;
  syncMarker: string;
  metadata: Record<string, string>;
  headerBytes: number;
  blocks: number;
  records: number;
  uncompressedBytes: number;
  largestBlock: { records: number; bytes: number };
  trailingBytes: number;
}

/** Reads a whole Avro object and describes it: schema, codec, blocks, records, size, sync marker. */
export async function inspectObject(s3: S3Client, url: string): Promise<Inspection> {
  const loc = parseS3Url(url);
  const head = await headObject(s3, loc.bucket, loc.key);
  let read = 0;
  const body = await getObjectStream(s3, loc.bucket, loc.key);
  const bar = progressBar('inspect', head.size, 'bytes');
  body.on('data', (c: Buffer) => bar.update((read += c.length)));
  try {
    const reader = await ContainerReader.open(body, { name: formatS3Url(loc) });
    const h = reader.header;
    let blocks = 0;
    let records = 0;
    let uncompressed = 0;
    const largest = { records: 0, bytes: 0 };
    for await (const b of reader.blocks()) {
      blocks++;
      records += b.count;
      uncompressed += b.data.length;
      if (b.data.length > largest.bytes) Object.assign(largest, { records: b.count, bytes: b.data.length });
    }
    const metadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(h.meta)) if (k !== 'avro.schema') metadata[k] = /^[\x20-\x7e]*$/.test(v.toString('latin1')) ? v.toString('utf8') : `0x${v.toString('hex')}`;
    return {
      url: formatS3Url(loc), size: head.size, codec: h.codec, schema: JSON.parse(h.schemaJson), syncMarker: h.sync.toString('hex'), metadata,
      headerBytes: h.headerSize, blocks, records, uncompressedBytes: uncompressed, largestBlock: largest, trailingBytes: reader.trailingBytes,
    };
  } finally {
    bar.stop();
  }
}
