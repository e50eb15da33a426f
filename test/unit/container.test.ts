import { Type } from 'avsc';
import { CODECS } from '../../src/avro/codecs';
import { MAGIC, syncMarkerFor } from '../../src/avro/container';
import { AvroFormatError, ContainerReader } from '../../src/avro/container-reader';
import { chunked, decodeAll, encodeFile } from '../helpers/avro';

const type = Type.forSchema({
  type: 'record', name: 'Row', fields: [
    { name: 'id', type: 'long' }, { name: 'name', type: 'string' }, { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'score', type: ['null', 'double'], default: null },
  ],
});
const rows = Array.from({ length: 5000 }, (_, i) => ({ id: i, name: `row ${i} ${'x'.repeat(i % 50)}`, tags: i % 3 ? ['a', 'b'] : [], score: i % 7 ? i / 7 : null }));

describe('Avro container encode/decode', () => {
  it.each(CODECS)('round-trips %s with several blocks and byte-identical re-encodes', async (codec) => {
    const a = encodeFile(type, rows, codec, { blockBytes: 16_000 });
    const b = encodeFile(type, rows, codec, { blockBytes: 16_000 });
    expect(a.equals(b)).toBe(true);
    expect(await decodeAll(a)).toEqual(rows);
    const reader = await ContainerReader.open(chunked(a), { name: 'x' });
    let blocks = 0;
    for await (const blk of reader.blocks()) {
      expect(blk.count).toBeGreaterThan(0);
      blocks++;
    }
    expect(blocks).toBeGreaterThan(3);
    expect(reader.header.codec).toBe(codec);
  });

  it('joins the chunks of a large block once, not at every chunk', async () => {
    const big = Type.forSchema({ type: 'record', name: 'Big', fields: [{ name: 'b', type: 'bytes' }] });
    const file = encodeFile(big, [{ b: Buffer.alloc(4 * 1024 * 1024, 7) }]);
    const concat = jest.spyOn(Buffer, 'concat');
    try {
      const reader = await ContainerReader.open(chunked(file, 1024), { name: 'big.avro' });
      let blocks = 0;
      for await (const blk of reader.blocks()) blocks += blk.data.length > 4 * 1024 * 1024 ? 1 : 0;
      expect(blocks).toBe(1);
      // Joining at every 1 KB chunk would copy about 8 GB here.
      const copied = concat.mock.results.reduce((sum, r) => sum + (r.value as Buffer).length, 0);
      expect(copied).toBeLessThan(3 * file.length);
    } finally {
      concat.mockRestore();
    }
  });

  it('writes the bytes Type.toBuffer gives each record, also for a record larger than its buffer', async () => {
    const { ContainerEncoder } = await import('../../src/avro/container');
    const enc = new ContainerEncoder(type, JSON.stringify(type.schema()), { codec: 'null', sync: syncMarkerFor('grow'), blockBytes: 512 });
    const some = [rows[1], { ...rows[2], name: 'y'.repeat(5000), tags: Array.from({ length: 300 }, (_, i) => `t${i}`) }, rows[3], rows[10]];
    const blocks = some.map((r) => enc.add(r)).filter((b): b is Buffer => b !== null);
    const last = enc.flush();
    if (last) blocks.push(last);
    const reader = await ContainerReader.open(chunked(Buffer.concat([enc.header(), ...blocks])), { name: 'grow.avro' });
    const data: Buffer[] = [];
    for await (const blk of reader.blocks()) data.push(blk.data);
    expect(Buffer.concat(data).equals(Buffer.concat(some.map((r) => type.toBuffer(r))))).toBe(true);
    expect(await decodeAll(Buffer.concat([enc.header(), ...blocks]))).toEqual(some);
  });

  it('writes a valid header-only file for zero records', async () => {
    const empty = encodeFile(type, []);
    expect(empty.subarray(0, 4).equals(MAGIC)).toBe(true);
    expect(empty.length).toBeGreaterThan(20);
    expect(await decodeAll(empty)).toEqual([]);
  });

  it('derives a different sync marker per identity', () => {
    expect(syncMarkerFor('a').equals(syncMarkerFor('a'))).toBe(true);
    expect(syncMarkerFor('a').equals(syncMarkerFor('b'))).toBe(false);
    expect(syncMarkerFor('a')).toHaveLength(16);
  });

  it('resolves old data with a newer reader schema', async () => {
    const v2 = Type.forSchema({
      type: 'record', name: 'Row', fields: [
        { name: 'id', type: 'long' }, { name: 'name', type: 'string' }, { name: 'country', type: 'string', default: 'NL' },
      ],
    });
    const out = (await decodeAll(encodeFile(type, rows.slice(0, 3)), { readerType: v2 })) as { id: number; country: string }[];
    expect(out.map((r) => [r.id, r.country])).toEqual([[0, 'NL'], [1, 'NL'], [2, 'NL']]);
  });
});

describe('Avro container reader on bad input', () => {
  const good = encodeFile(type, rows.slice(0, 200), 'null', { blockBytes: 2000 });

  async function failure(buf: Buffer, limits = {}): Promise<AvroFormatError> {
    try {
      await decodeAll(buf, { name: 's3://bucket/bad.avro', limits });
    } catch (e) {
      return e as AvroFormatError;
    }
    throw new Error('expected the read to fail');
  }

  it('names the object and offset for a bad magic', async () => {
    const e = await failure(Buffer.from('PK\x03\x04 not avro'));
    expect(e).toBeInstanceOf(AvroFormatError);
    expect(e.message).toMatch(/^s3:\/\/bucket\/bad\.avro: not an Avro object container file: bad magic bytes 504b0304 \(at byte 0\)/);
  });

  it('refuses the old 1.2 format clearly', async () => {
    const e = await failure(Buffer.concat([Buffer.from('Obj\x00'), Buffer.alloc(20)]));
    expect(e.message).toMatch(/old Avro 1\.2 container format/);
  });

  it('fails on a file cut inside a block', async () => {
    const e = await failure(good.subarray(0, good.length - 30));
    expect(e.message).toMatch(/file is truncated/);
    expect(e.offset).toBeGreaterThan(0);
  });

  it('fails on a corrupted sync marker', async () => {
    const bad = Buffer.from(good);
    bad[bad.length - 1] ^= 0xff;
    expect((await failure(bad)).message).toMatch(/sync marker mismatch/);
  });

  it('refuses absurd block sizes and counts before allocating', async () => {
    const header = encodeFile(type, []);
    const zig = (n: number) => Type.forSchema('long').toBuffer(n);
    const hugeSize = Buffer.concat([header, zig(1), zig(2 ** 40), Buffer.alloc(8)]);
    expect((await failure(hugeSize)).message).toMatch(/block size 1099511627776 is negative or over the 67108864-byte limit/);
    const hugeCount = Buffer.concat([header, zig(2 ** 50), zig(4), Buffer.alloc(8)]);
    expect((await failure(hugeCount)).message).toMatch(/block record count .* over the limit/);
    const negative = Buffer.concat([header, zig(-1), zig(4), Buffer.alloc(8)]);
    expect((await failure(negative)).message).toMatch(/block record count -1/);
  });

  it('prints block sizes and counts past 2^53 exactly, not rounded through a float', async () => {
    const header = encodeFile(type, []);
    const zig = (n: bigint) => {
      let u = n >= 0n ? n * 2n : -n * 2n - 1n;
      const out: number[] = [];
      for (; u >= 0x80n; u >>= 7n) out.push(Number(u & 0x7fn) | 0x80);
      return Buffer.from([...out, Number(u)]);
    };
    const block = (count: bigint, size: bigint) => Buffer.concat([header, zig(count), zig(size), Buffer.alloc(8)]);
    expect((await failure(block(1n, 2n ** 62n))).message).toMatch(/block size 4611686018427387904 is negative or over the 67108864-byte limit/);
    expect((await failure(block(1n, -(2n ** 63n)))).message).toMatch(/block size -9223372036854775808 is negative/);
    expect((await failure(block(2n ** 53n + 1n, 4n))).message).toMatch(/block record count 9007199254740993 is negative or over/);
    expect((await failure(block(2n ** 63n - 1n, 4n))).message).toMatch(/block record count 9223372036854775807 is negative or over/);
    const metaKey = Buffer.concat([MAGIC, zig(1n), zig(2n ** 60n), Buffer.alloc(8)]);
    expect((await failure(metaKey)).message).toMatch(/header metadata key length 1152921504606846976 is over 2\^53 \(at byte 5\)$/);
    // Many small entries past the whole header's limit: the limit is named, not the key that crossed it.
    const entry = Buffer.concat([zig(1000n), Buffer.alloc(1000, 0x6b), zig(0n)]);
    const manyKeys = Buffer.concat([MAGIC, zig(5000n), ...Array(5000).fill(entry), Buffer.alloc(8)]);
    expect((await failure(manyKeys)).message).toMatch(/header metadata is over the 4194304-byte limit \(4194000 bytes in its first entries, then a key of 1000\)/);
    expect((await failure(Buffer.concat([MAGIC, zig(1n), zig(-3n), Buffer.alloc(8)]))).message).toMatch(/header metadata key length -3 is invalid \(at byte 6\)$/);
    const overflow = Buffer.concat([header, Buffer.from([...Array(9).fill(0xff), 0x7f]), zig(4n), Buffer.alloc(8)]);
    expect((await failure(overflow)).message).toMatch(/block header is corrupt: varint holds a value over 64 bits \(at byte \d+\)$/);
  });

  it('stops at a forged array count instead of allocating', async () => {
    const arr = Type.forSchema({ type: 'record', name: 'A', fields: [{ name: 'xs', type: { type: 'array', items: 'null' } }] });
    const file = encodeFile(arr, [{ xs: [null] }]);
    // Re-frame one block whose record claims 2^40 null items in 6 bytes.
    const header = encodeFile(arr, []);
    const zig = (n: number) => Type.forSchema('long').toBuffer(n);
    const body = Buffer.concat([zig(2 ** 40), zig(0)]);
    const forged = Buffer.concat([header, zig(1), zig(body.length), body, syncMarkerFor('test')]);
    expect(await decodeAll(file)).toEqual([{ xs: [null] }]);
    const t0 = Date.now();
    expect((await failure(forged, { maxCollectionItems: 1000 })).message).toMatch(/record 0 of block: collection of 1099511627776 items exceeds the limit of 1000 \(at byte \d+\)$/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('detects a block whose data does not match its declared count', async () => {
    const header = encodeFile(type, []);
    const zig = (n: number) => Type.forSchema('long').toBuffer(n);
    const one = type.toBuffer(rows[0]);
    const tooMany = Buffer.concat([header, zig(2), zig(one.length), one, syncMarkerFor('test')]);
    expect((await failure(tooMany)).message).toMatch(/declares 2 records but its data ends inside record 1/);
    const tooFew = Buffer.concat([header, zig(1), zig(one.length * 2), one, one, syncMarkerFor('test')]);
    expect((await failure(tooFew)).message).toMatch(/bytes after its 1 declared records/);
  });

  it('reports a forged length varint of 150 bytes as over-long, not as a NaN length', async () => {
    const { blockDecoder, decodeBlock } = await import('../../src/avro/container-reader');
    const str = Type.forSchema({ type: 'record', name: 'S', fields: [{ name: 's', type: 'string' }] });
    // avsc's own readLong turns 150 continuation bytes into NaN (its multiplier overflows to Infinity).
    const data = Buffer.concat([Buffer.alloc(150, 0x80), Buffer.from([0x00]), Buffer.from('tail')]);
    const block = { offset: 40, end: 40 + data.length, count: 3, data };
    expect(() => decodeBlock('forged.avro', block, blockDecoder(str))).toThrow(/record 0 of block: long varint at offset 0 of the block is longer than the 10 bytes/);
  });

  it('checks the snappy CRC32 trailer', async () => {
    const snappy = encodeFile(type, rows.slice(0, 10), 'snappy');
    const bad = Buffer.from(snappy);
    bad[bad.length - 17] ^= 0x01; // last byte of the CRC, just before the sync marker
    expect((await failure(bad)).message).toMatch(/snappy block CRC32 mismatch/);
  });

  it('refuses a deflate block that inflates past the block limit', async () => {
    const big = Type.forSchema({ type: 'record', name: 'B', fields: [{ name: 's', type: 'string' }] });
    const bomb = encodeFile(big, [{ s: 'a'.repeat(5_000_000) }], 'deflate');
    expect(bomb.length).toBeLessThan(50_000);
    expect((await failure(bomb, { maxBlockBytes: 1_000_000 })).message).toMatch(/inflates past the 1000000-byte block limit/);
  });
});

describe('Avro container reader releases its source', () => {
  // An unread HTTP body holds its keep-alive socket: a reader that stops must destroy it.
  const good = encodeFile(type, rows.slice(0, 200), 'null', { blockBytes: 2000 });

  it('when the header is bad', async () => {
    const src = chunked(Buffer.from('PK\x03\x04 not avro at all, and then some more bytes'), 4);
    await expect(ContainerReader.open(src, { name: 'bad' })).rejects.toThrow(/bad magic/);
    expect(src.destroyed).toBe(true);
  });

  it('when a block is corrupt', async () => {
    const bad = Buffer.from(good);
    bad[bad.length - 5] ^= 0xff; // the last sync marker
    const src = chunked(bad);
    const reader = await ContainerReader.open(src, { name: 'bad' });
    await expect((async () => { for await (const _ of reader.records()) void _; })()).rejects.toThrow(/sync marker mismatch/);
    expect(src.destroyed).toBe(true);
  });

  it('when the caller stops early', async () => {
    const src = chunked(good);
    const reader = await ContainerReader.open(src, { name: 'good' });
    for await (const _ of reader.blocks()) break;
    expect(src.destroyed).toBe(true);
  });

  it('but not after the header alone: the blocks are read on from there', async () => {
    const src = chunked(good);
    const reader = await ContainerReader.open(src, { name: 'good' });
    expect(src.destroyed).toBe(false);
    let n = 0;
    for await (const r of reader.records()) n += r.index >= 0 ? 1 : 0;
    expect(n).toBe(200);
  });
});

describe('map keys that are Object.prototype names', () => {
  // JSON.parse makes "__proto__" an own key, as a decoded map must have it.
  const KEYS = '{"__proto__": 1, "constructor": 2, "hasOwnProperty": 3, "toString": 4, "plain": 5}';

  it('survive decode and encode through the container reader and writer, for every value type', async () => {
    const schema = Type.forSchema({
      type: 'record', name: 'M', fields: [
        { name: 'ints', type: { type: 'map', values: 'int' } },
        { name: 'recs', type: { type: 'map', values: { type: 'record', name: 'V', fields: [{ name: 'v', type: 'int' }] } } },
        { name: 'nested', type: { type: 'map', values: { type: 'map', values: 'string' } } },
      ],
    });
    const ints = JSON.parse(KEYS);
    const recs = JSON.parse(KEYS, (k, v) => (typeof v === 'number' ? { v } : v));
    const nested = JSON.parse(`{"__proto__": ${JSON.stringify({ ...JSON.parse('{"__proto__": "a"}'), constructor: 'b' })}}`);
    const record = { ints, recs, nested };
    expect(Object.keys(record.nested.__proto__)).toEqual(['__proto__', 'constructor']);
    for (const codec of CODECS) {
      const file = encodeFile(schema, [record], codec);
      const [back] = (await decodeAll(file)) as (typeof record)[];
      expect(Object.keys(back.ints)).toEqual(['__proto__', 'constructor', 'hasOwnProperty', 'toString', 'plain']);
      expect(Object.getPrototypeOf(back.ints)).toBe(Object.prototype);
      expect(Object.getOwnPropertyDescriptor(back.ints, '__proto__')?.value).toBe(1);
      expect(Object.getOwnPropertyDescriptor(back.recs, '__proto__')?.value).toEqual({ v: 1 });
      expect(Object.getPrototypeOf(back.recs)).toBe(Object.prototype);
      expect(JSON.stringify(back)).toBe(JSON.stringify(record));
      // Written again, the same bytes: nothing was lost or reordered.
      expect(encodeFile(schema, [back], codec).equals(file)).toBe(true);
    }
  });

  it('survive in header metadata', async () => {
    const { ContainerEncoder } = await import('../../src/avro/container');
    const enc = new ContainerEncoder(type, JSON.stringify(type.schema()), { codec: 'null', sync: syncMarkerFor('meta'), meta: JSON.parse('{"__proto__": "p", "x": "y"}') });
    const file = Buffer.concat([enc.header(), enc.add(rows[0]) ?? Buffer.alloc(0), enc.flush()!]);
    const reader = await ContainerReader.open(chunked(file), { name: 'meta.avro' });
    expect(Object.getOwnPropertyDescriptor(reader.header.meta, '__proto__')?.value?.toString()).toBe('p');
    expect(Object.getPrototypeOf(reader.header.meta)).toBe(Object.prototype);
    expect(reader.header.meta.x.toString()).toBe('y');
  });
});
