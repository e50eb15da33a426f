import { Type } from 'avsc';
import { Readable } from 'node:stream';
import { CodecName } from '../../src/avro/codecs';
import { ContainerEncoder, syncMarkerFor } from '../../src/avro/container';
import { ContainerReader } from '../../src/avro/container-reader';
import { ReadLimits } from '../../src/avro/limits';

/** Encodes records into a whole container file in memory. */
export function encodeFile(type: Type, records: unknown[], codec: CodecName = 'null', opts: { blockBytes?: number; identity?: string } = {}): Buffer {
  const enc = new ContainerEncoder(type, JSON.stringify(type.schema({ exportAttrs: true })), { codec, sync: syncMarkerFor(opts.identity ?? 'test'), blockBytes: opts.blockBytes });
  const parts = [enc.header()];
  for (const r of records) {
    const b = enc.add(r);
    if (b) parts.push(b);
  }
  const last = enc.flush();
  if (last) parts.push(last);
  return Buffer.concat(parts);
}

/** Feeds a buffer to the reader in small chunks, as a network stream would. */
export function chunked(buf: Buffer, size = 97): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) chunks.push(buf.subarray(i, i + size));
  return Readable.from(chunks);
}

export async function decodeAll(buf: Buffer, opts: { readerType?: Type; limits?: Partial<ReadLimits>; name?: string } = {}): Promise<unknown[]> {
  const reader = await ContainerReader.open(chunked(buf), { name: opts.name ?? 'mem://test.avro', limits: opts.limits });
  const out: unknown[] = [];
  for await (const { record } of reader.records(opts.readerType)) out.push(record);
  return out;
}
