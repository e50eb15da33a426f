import { Type } from 'avsc';
import { syncMarkerFor } from '../../src/avro/container';
import { AvroFormatError, blockDecoder, decodeBlock } from '../../src/avro/container-reader';
import { losslessTypeOf } from '../../src/avro/long';
import { decodeAll, encodeFile } from '../helpers/avro';

/** Varints past their length (10 bytes for a long, 5 for an int) or width are corrupt data, as in Java. */
const longRow = Type.forSchema({ type: 'record', name: 'R', fields: [{ name: 'n', type: 'long' }] });
const intRow = Type.forSchema({ type: 'record', name: 'R', fields: [{ name: 'n', type: 'int' }] });
const bytes = (...parts: (number | number[])[]) => Buffer.from(parts.flat());
const rep = (b: number, n: number) => Array<number>(n).fill(b);

function decode(type: Type, data: Buffer, count = 1, reader?: Type): unknown[] {
  return decodeBlock('s3://bucket/in.avro', { offset: 40, end: 40 + data.length, count, data }, blockDecoder(type, reader));
}

describe('long varints', () => {
  it('refuse more than 10 bytes, naming the object, block and offset (Java: Invalid long encoding)', () => {
    // Decoded as 0 before: the lossless path's 8-byte buffer dropped the excess.
    expect(() => decode(longRow, bytes(rep(0x80, 10), 0x01))).toThrow(
      new AvroFormatError('s3://bucket/in.avro', 40, 'record 0 of block: long varint at offset 0 of the block is longer than the 10 bytes an Avro long can take'),
    );
    // A small value padded to 11 bytes passed as -1 before.
    expect(() => decode(longRow, bytes(0x81, rep(0x80, 9), 0x00))).toThrow(/record 0 of block: long varint at offset 0 .* longer than the 10 bytes/);
    expect(() => decode(longRow, bytes(0x02, rep(0x80, 12), 0x00), 2)).toThrow(/record 1 of block: long varint at offset 1 /);
  });

  it('refuse a 10th byte with bits beyond 64 (no writer makes one; Java drops them, Python keeps them)', () => {
    expect(() => decode(longRow, bytes(rep(0xff, 9), 0x7f))).toThrow(/record 0 of block: long varint at offset 0 of the block holds a value over 64 bits/);
    expect(() => decode(longRow, bytes(rep(0x80, 9), 0x02))).toThrow(/over 64 bits/);
  });

  it('still read every 64-bit value, the extremes and padded 10-byte forms included', () => {
    expect(decode(longRow, bytes(rep(0xff, 9), 0x01))).toEqual([{ n: -(2n ** 63n) }]);
    expect(decode(longRow, bytes(0xfe, rep(0xff, 8), 0x01))).toEqual([{ n: 2n ** 63n - 1n }]);
    expect(decode(longRow, bytes(0x82, rep(0x80, 8), 0x00))).toEqual([{ n: 1 }]);
    const values = [0, -1, 2 ** 27, -(2 ** 31), 2 ** 52, -(2 ** 52)];
    expect(decode(longRow, Buffer.concat(values.map((n) => longRow.toBuffer({ n }))), values.length)).toEqual(values.map((n) => ({ n })));
  });

  it('are checked in the lossless re-decode too, after a record that needs it', () => {
    // Past 2^53, so the block is decoded again with bigints.
    const big = losslessTypeOf(longRow).toBuffer({ n: 2n ** 60n });
    expect(decode(longRow, Buffer.concat([big, big]), 2)).toHaveLength(2);
    expect(() => decode(longRow, Buffer.concat([big, bytes(rep(0x80, 10), 0x01)]), 2)).toThrow(/record 1 of block: long varint at offset 9 .* longer than the 10 bytes/);
  });

  it('are checked when skipped for a field the reader schema drops', () => {
    const two = Type.forSchema({ type: 'record', name: 'R', fields: [{ name: 'x', type: 'long' }, { name: 'n', type: 'long' }] });
    expect(decode(two, bytes(0x02, 0x04), 1, longRow)).toEqual([{ n: 2 }]);
    expect(() => decode(two, bytes(rep(0x80, 10), 0x01, 0x04), 1, longRow)).toThrow(/record 0 of block: long varint at offset 0 .* longer than the 10 bytes/);
    expect(() => decode(two, bytes(rep(0x80, 9), 0x02, 0x04), 1, longRow)).toThrow(/over 64 bits/);
  });

  it('in a container file make the read fail as corrupt input', async () => {
    const header = encodeFile(longRow, []);
    const zig = (n: number) => Type.forSchema('long').toBuffer(n);
    const body = bytes(rep(0x80, 10), 0x01);
    const file = Buffer.concat([header, zig(1), zig(body.length), body, syncMarkerFor('test')]);
    await expect(decodeAll(file, { name: 's3://bucket/in.avro' })).rejects.toThrow(
      new AvroFormatError('s3://bucket/in.avro', header.length, 'record 0 of block: long varint at offset 0 of the block is longer than the 10 bytes an Avro long can take'),
    );
  });
});

describe('int varints', () => {
  it('refuse more than 5 bytes, also when read as a long (int-to-long resolution took 2^40 before)', () => {
    const sixBytes = bytes(rep(0x80, 5), 0x40);
    expect(() => decode(intRow, sixBytes)).toThrow(/record 0 of block: int varint at offset 0 of the block is longer than the 5 bytes an Avro int can take/);
    expect(() => decode(intRow, sixBytes, 1, longRow)).toThrow(/int varint .* longer than the 5 bytes/);
  });

  it('refuse a 5th byte with bits beyond 32, read or skipped', () => {
    expect(() => decode(intRow, bytes(rep(0xff, 4), 0x1f))).toThrow(/int varint at offset 0 of the block holds a value over 32 bits/);
    const two = Type.forSchema({ type: 'record', name: 'R', fields: [{ name: 'x', type: 'int' }, { name: 'n', type: 'long' }] });
    expect(() => decode(two, bytes(rep(0xff, 4), 0x1f, 0x04), 1, longRow)).toThrow(/int varint .* over 32 bits/);
  });

  it('still read the whole int range', () => {
    const values = [0, -1, 2 ** 27, 2 ** 31 - 1, -(2 ** 31)];
    expect(decode(intRow, Buffer.concat(values.map((n) => intRow.toBuffer({ n }))), values.length)).toEqual(values.map((n) => ({ n })));
    expect(decode(intRow, bytes(0x82, rep(0x80, 3), 0x00))).toEqual([{ n: 1 }]);
  });
});

describe('booleans', () => {
  const boolRow = Type.forSchema({ type: 'record', name: 'B', fields: [{ name: 'b', type: 'boolean' }, { name: 'n', type: 'int' }] });

  it('read 0 and 1, and refuse any other byte (avsc and fastavro read 2 as true, Java as false)', () => {
    expect(decode(boolRow, bytes(0x00, 0x02, 0x01, 0x04), 2)).toEqual([{ b: false, n: 1 }, { b: true, n: 2 }]);
    expect(() => decode(boolRow, bytes(0x00, 0x02, 0x02, 0x04), 2)).toThrow(
      new AvroFormatError('s3://bucket/in.avro', 40, 'record 1 of block: boolean byte 2 at offset 2 of the block: a boolean is 0 or 1'),
    );
  });
});
