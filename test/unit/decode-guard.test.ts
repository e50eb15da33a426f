import { Type } from 'avsc';
import { syncMarkerFor } from '../../src/avro/container';
import { AvroFormatError, Block, ContainerReader } from '../../src/avro/container-reader';
import { DecodeGuard, decodeGuardSettings, guardedBlocks } from '../../src/avro/decode-guard';
import { chunked, decodeAll, encodeFile } from '../helpers/avro';
import { rejection } from '../helpers/rejection';

/**
 * The decode guard decodes each block on a thread with a capped heap first: a block whose records
 * do not fit must fail with an error naming the object and block, and leave this process and the
 * guard working.
 */
const zig = (n: number) => Type.forSchema('long').toBuffer(n);
const sync = syncMarkerFor('test');
const NAME = 's3://bucket/poison.avro';
const ints = Type.forSchema({ type: 'record', name: 'Ints', fields: [{ name: 'xs', type: { type: 'array', items: 'int' } }] });

/** A container file of `ints` whose blocks hold the given encoded records. */
function file(blocks: Buffer[][]): Buffer {
  const parts = [encodeFile(ints, [])];
  for (const records of blocks) {
    const body = Buffer.concat(records);
    parts.push(zig(records.length), zig(body.length), body, sync);
  }
  return Buffer.concat(parts);
}

/** A record of `n` zeros: one byte each in the block, 8 or more bytes each once decoded. */
const zeros = (n: number) => Buffer.concat([zig(n), Buffer.alloc(n), zig(0)]);
const small = () => [zeros(3), zeros(5)];
// 16 MiB of legal data (within every reader limit) that decodes to 16M array slots: over 128 MiB.
const poison = () => Array.from({ length: 16 }, () => zeros(1024 * 1024));

async function blocksOf(buf: Buffer): Promise<{ reader: ContainerReader; blocks: Block[] }> {
  const reader = await ContainerReader.open(chunked(buf, 1 << 20), { name: NAME });
  const blocks: Block[] = [];
  for await (const b of reader.blocks()) blocks.push(b);
  return { reader, blocks };
}

describe('decode guard', () => {
  const guard = new DecodeGuard({ heapMb: 32, threads: 1 });
  afterAll(() => guard.close());

  it('passes good blocks, reports corrupt ones as AvroFormatError, and survives a block that exhausts its heap', async () => {
    const { reader, blocks } = await blocksOf(file([small(), poison(), small(), [zeros(2), Buffer.from([0x05])]]));
    const schemas = { writer: reader.header.schemaJson };
    const [good, bad, again, corrupt] = blocks;

    await expect(guard.check(good, schemas, NAME)).resolves.toBeUndefined();

    const oom = await rejection(guard.check(bad, schemas, NAME));
    expect(oom).toBeInstanceOf(AvroFormatError);
    expect(oom.message).toBe(`${NAME}: decoding the block at byte ${bad.offset} ran out of memory (limit 32 MiB, PARTFLOW_DECODE_HEAP_MB)`);
    expect((oom as AvroFormatError).offset).toBe(bad.offset);

    // A fresh thread takes the next block.
    await expect(guard.check(again, schemas, NAME)).resolves.toBeUndefined();

    const err = await rejection(guard.check(corrupt, schemas, NAME));
    expect(err).toBeInstanceOf(AvroFormatError);
    expect(err.message).toBe(`${NAME}: block declares 2 records but its data ends inside record 1 (at byte ${corrupt.offset})`);
  });

  it('checks blocks read through schema resolution with the reader schema', async () => {
    const { reader, blocks } = await blocksOf(file([small()]));
    const longs = JSON.stringify({ type: 'record', name: 'Ints', fields: [{ name: 'xs', type: { type: 'array', items: 'long' } }] });
    const strings = JSON.stringify({ type: 'record', name: 'Ints', fields: [{ name: 'xs', type: { type: 'array', items: 'string' } }] });
    await expect(guard.check(blocks[0], { writer: reader.header.schemaJson, reader: longs }, NAME)).resolves.toBeUndefined();
    const err = await rejection(guard.check(blocks[0], { writer: reader.header.schemaJson, reader: strings }, NAME));
    expect(err.message).toBe(`the Avro decode guard cannot read ${NAME} with its reader schema: cannot read "int" as "string"`);
  });

  it('guardedBlocks yields every block in order, and the blocks before a poison block, then its error', async () => {
    const good = file([small(), small(), small()]);
    const r1 = await ContainerReader.open(chunked(good), { name: NAME });
    const offsets: number[] = [];
    for await (const b of guardedBlocks(r1, undefined, Infinity, guard)) offsets.push(b.offset);
    const plain = await blocksOf(good);
    expect(offsets).toEqual(plain.blocks.map((b) => b.offset));

    const bad = file([small(), small(), poison(), small()]);
    const { blocks } = await blocksOf(bad);
    const r2 = await ContainerReader.open(chunked(bad, 1 << 20), { name: NAME });
    const seen: number[] = [];
    const err = await rejection((async () => {
      for await (const b of guardedBlocks(r2, undefined, Infinity, guard)) seen.push(b.offset);
    })());
    expect(seen).toEqual([blocks[0].offset, blocks[1].offset]);
    expect(err.message).toBe(`${NAME}: decoding the block at byte ${blocks[2].offset} ran out of memory (limit 32 MiB, PARTFLOW_DECODE_HEAP_MB)`);
  });

  it('reads its settings, refusing bad ones', () => {
    expect(decodeGuardSettings({})).toEqual({ enabled: true, heapMb: 512 });
    expect(decodeGuardSettings({ PARTFLOW_DECODE_GUARD: 'off', PARTFLOW_DECODE_HEAP_MB: '64' })).toEqual({ enabled: false, heapMb: 64 });
    expect(() => decodeGuardSettings({ PARTFLOW_DECODE_GUARD: 'yes' })).toThrow(/PARTFLOW_DECODE_GUARD must be "on" or "off"/);
    expect(() => decodeGuardSettings({ PARTFLOW_DECODE_HEAP_MB: '8' })).toThrow(/PARTFLOW_DECODE_HEAP_MB must be a number of MiB from 16/);
    // Number() would read these as 32 and 1000.
    expect(() => decodeGuardSettings({ PARTFLOW_DECODE_HEAP_MB: '0x20' })).toThrow(/got "0x20"/);
    expect(() => decodeGuardSettings({ PARTFLOW_DECODE_HEAP_MB: '1e3' })).toThrow(/got "1e3"/);
  });
});

// The guard doubles decoding, and checking strings for UTF-8 was half of it: only strings that
// decode with a U+FFFD are checked strictly now. Both halves of that must hold.
describe('strings are checked for UTF-8 on the fast path', () => {
  const str = Type.forSchema('string');
  const raw = (bytes: number[][]) => {
    const body = Buffer.concat(bytes.map((b) => Buffer.concat([zig(b.length), Buffer.from(b)])));
    return Buffer.concat([encodeFile(str, []), zig(bytes.length), zig(body.length), body, sync]);
  };

  it('keeps a real U+FFFD and other valid text', async () => {
    const values = ['a\uFFFDb', '\uFFFD', 'plain', 'é😀', ''];
    await expect(decodeAll(encodeFile(str, values))).resolves.toEqual(values);
  });

  it.each([
    ['a lone continuation byte', [0x61, 0x80]],
    ['a truncated sequence', [0xe2, 0x82]],
    ['an overlong encoding', [0xc0, 0x80]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
    ['a code point past U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
  ])('refuses %s', async (_what, bytes) => {
    await expect(decodeAll(raw([[0x6f, 0x6b], bytes]), { name: 'mem://u.avro' })).rejects.toThrow(
      new RegExp(`^mem://u\\.avro: record 1 of block: string of ${bytes.length} bytes at offset 4 of the block is not valid UTF-8`),
    );
  });
});
