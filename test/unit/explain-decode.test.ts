import { Type } from 'avsc';
import { syncMarkerFor } from '../../src/avro/container';
import { blockDecoder, decodeBlock } from '../../src/avro/container-reader';
import { decodeAll, encodeFile } from '../helpers/avro';

/** A record that runs past its block names the string or bytes length that sent it there. */
const row = Type.forSchema({
  type: 'record', name: 'R', fields: [
    { name: 'id', type: 'long' }, { name: 's', type: 'string' }, { name: 'b', type: 'bytes' },
    { name: 'm', type: { type: 'map', values: 'string' } },
  ],
});
const zig = (n: number) => Type.forSchema('long').toBuffer(n);
const good = row.toBuffer({ id: 1, s: 'ab', b: Buffer.from('c'), m: {} });

function failure(data: Buffer, count = 1, reader?: Type): string {
  try {
    decodeBlock('s3://bucket/in.avro', { offset: 40, end: 40 + data.length, count, data }, blockDecoder(row, reader));
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected the decode to fail');
}

describe('a record that runs past the end of its block', () => {
  it('names a negative string length', () => {
    expect(failure(Buffer.concat([zig(7), zig(-5), Buffer.from('abcdef')]))).toBe(
      's3://bucket/in.avro: block declares 1 records but its data ends inside record 0: string length -5 at offset 1 of the block is negative (at byte 40)',
    );
  });

  it('names a string length past the end of the block', () => {
    expect(failure(Buffer.concat([good, zig(7), zig(2 ** 40), Buffer.from('abcdef')]), 2)).toMatch(
      /data ends inside record 1: string length 1099511627776 at offset 8 of the block runs past its end \(6 bytes left\) \(at byte 40\)$/,
    );
  });

  it('names bytes lengths and map keys', () => {
    expect(failure(Buffer.concat([zig(7), zig(0), zig(-2)]))).toMatch(/record 0: bytes length -2 at offset 2 of the block is negative/);
    expect(failure(Buffer.concat([zig(7), zig(0), zig(0), zig(1), zig(2 ** 40)]))).toMatch(/record 0: string length 1099511627776 at offset 4 of the block runs past its end/);
  });

  it('names lengths in a field the reader schema drops', () => {
    const reader = Type.forSchema({ type: 'record', name: 'R', fields: [{ name: 'id', type: 'long' }] });
    expect(failure(Buffer.concat([zig(7), zig(-5)]), 1, reader)).toMatch(/record 0: string length -5 at offset 1 of the block is negative/);
  });

  it('says only that the data ends when no length is wrong', () => {
    expect(failure(Buffer.concat([good, good]), 3)).toMatch(/block declares 3 records but its data ends inside record 2 \(at byte 40\)$/);
    expect(failure(good.subarray(0, 1))).toMatch(/block declares 1 records but its data ends inside record 0 \(at byte 40\)$/);
    // A true length whose bytes are cut off is named too: that is where the data ends.
    expect(failure(good.subarray(0, good.length - 2))).toMatch(/inside record 0: bytes length 1 at offset 4 of the block runs past its end \(0 bytes left\)/);
  });

  it('in a container file names the length, the object and the block', async () => {
    const header = encodeFile(row, []);
    const body = Buffer.concat([zig(7), zig(-5), Buffer.from('abcdef')]);
    const file = Buffer.concat([header, zig(1), zig(body.length), body, syncMarkerFor('test')]);
    await expect(decodeAll(file, { name: 's3://bucket/in.avro' })).rejects.toThrow(
      `s3://bucket/in.avro: block declares 1 records but its data ends inside record 0: string length -5 at offset 1 of the block is negative (at byte ${header.length})`,
    );
  });
});
