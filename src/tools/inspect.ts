import { ContainerReader } from '../avro/container-reader';
import { ObjectSource } from './object-source';
import { progressBar } from './progress';

export interface Inspection {
  url: string;
  size: number;
  codec: string;
  schema: unknown;
  /** The header's schema as written (`schema` is parsed: a long beyond 2^53 in it is rounded). */
  schemaJson: string;
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
export async function inspectObject(source: ObjectSource): Promise<Inspection> {
  let read = 0;
  const body = await source.open();
  const bar = progressBar('inspect', source.size, 'bytes');
  body.on('data', (c: Buffer) => bar.update((read += c.length)));
  try {
    const reader = await ContainerReader.open(body, { name: source.name });
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
      url: source.name, size: source.size, codec: h.codec, schema: JSON.parse(h.schemaJson), schemaJson: h.schemaJson, syncMarker: h.sync.toString('hex'), metadata,
      headerBytes: h.headerSize, blocks, records, uncompressedBytes: uncompressed, largestBlock: largest, trailingBytes: reader.trailingBytes,
    };
  } finally {
    bar.stop();
  }
}
