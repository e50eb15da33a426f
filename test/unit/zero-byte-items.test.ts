import { Type } from 'avsc';
import { syncMarkerFor } from '../../src/avro/container';
import { AvroFormatError } from '../../src/avro/container-reader';
import { decodeAll, encodeFile } from '../helpers/avro';

const zig = (n: number) => Type.forSchema('long').toBuffer(n);
const sync = syncMarkerFor('test');

/** A container file whose blocks hold the given records, already encoded. */
function file(type: Type, blocks: Buffer[][]): Buffer {
  const parts = [encodeFile(type, [])];
  for (const records of blocks) {
    const body = Buffer.concat(records);
    parts.push(zig(records.length), zig(body.length), body, sync);
  }
  return Buffer.concat(parts);
}

/** One record of a collection that declares `n` items in one run and ends: `prefix` comes first. */
const forged = (n: number, prefix: Buffer = Buffer.alloc(0)) => Buffer.concat([prefix, zig(n), zig(0)]);

async function failure(buf: Buffer, opts: Parameters<typeof decodeAll>[1] = {}): Promise<AvroFormatError> {
  try {
    await decodeAll(buf, { name: 's3://bucket/zero.avro', ...opts });
  } catch (e) {
    expect(e).toBeInstanceOf(AvroFormatError);
    return e as AvroFormatError;
  }
  throw new Error('expected the read to fail');
}

const ZERO = /^s3:\/\/bucket\/zero\.avro: record \d+ of block: .*more items that take no bytes \(null, empty records, size-0 fixed\) than the \d+ allowed per object \(at byte \d+\)$/;

const SMALL = { maxZeroByteItems: 100_000 };

describe('collections of items that take no bytes are bounded per block and per object', () => {
  const nulls = Type.forSchema({ type: 'array', items: 'null' });
  const header = encodeFile(nulls, []).length;

  it('refuses the 5 KB file of 1,000 records of array<null> that each declare 9,999,999 items', async () => {
    const bomb = file(nulls, [Array.from({ length: 1000 }, () => forged(9_999_999))]);
    expect(bomb.length).toBeLessThan(5_300);
    const err = await failure(bomb);
    expect(err.message).toMatch(ZERO);
    expect(err.message).toMatch(/^s3:\/\/bucket\/zero\.avro: record 1 of block: a collection declares 9999999 items with \d+ bytes left in the block/);
    expect(err.offset).toBe(header);
  });

  it('counts across the blocks of an object, and a smaller budget applies per reader', async () => {
    // 1,000 blocks of one record each: every block alone is within the budget, the object is not.
    const spread = file(nulls, Array.from({ length: 1000 }, () => [forged(9_999_999)]));
    const err = await failure(spread);
    expect(err.message).toMatch(ZERO);
    expect(err.offset).toBeGreaterThan(header); // the second block
    const small = file(nulls, [[forged(600)], [forged(600)]]);
    expect(await decodeAll(small)).toEqual([new Array(600).fill(null), new Array(600).fill(null)]);
    expect((await failure(small, { limits: { maxZeroByteItems: 1000 } })).message).toMatch(/the 1000 allowed per object/);
  });

  it.each([
    ['empty records', { type: 'array', items: { type: 'record', name: 'E', fields: [] } }],
    ['size-0 fixed', { type: 'array', items: { type: 'fixed', name: 'F0', size: 0 } }],
    ['records of nulls and empty records', {
      type: 'array', items: { type: 'record', name: 'N', fields: [{ name: 'a', type: 'null' }, { name: 'b', type: { type: 'record', name: 'E2', fields: [] } }] },
    }],
    ['nested arrays of nulls', { type: 'array', items: { type: 'array', items: 'null' } }],
  ])('%s', async (_, schema) => {
    const type = Type.forSchema(schema as never);
    const nested = (schema.items as { type?: string }).type === 'array';
    // Nested: each outer record is one outer item holding the run of 1,000 inner items.
    const record = nested ? Buffer.concat([zig(1), forged(1000), zig(0)]) : forged(1000);
    // Runs that fit in the bytes left pass the first check; the budget (100,000 here) stops them.
    const err = await failure(file(type, [Array.from({ length: 1000 }, () => record)]), { limits: SMALL });
    expect(err.message).toMatch(ZERO);
    expect(err.message).toMatch(/record 100 of block: a collection holds 1000 items in 0 bytes/);
  });

  it('bounds skipped fields and resolved reads the same way', async () => {
    const writer = Type.forSchema({ type: 'record', name: 'R', fields: [{ name: 'id', type: 'int' }, { name: 'xs', type: { type: 'array', items: 'null' } }] });
    const reader = Type.forSchema({ type: 'record', name: 'R', fields: [{ name: 'id', type: 'long' }] });
    const resolved = Type.forSchema({ type: 'record', name: 'R', fields: [{ name: 'id', type: 'long' }, { name: 'xs', type: { type: 'array', items: 'null' } }] });
    for (const n of [9_999_999, 1000]) {
      const bomb = file(writer, [Array.from({ length: 1000 }, () => forged(n, zig(7)))]);
      expect((await failure(bomb, { readerType: reader, limits: SMALL })).message).toMatch(ZERO);
      expect((await failure(bomb, { readerType: resolved, limits: SMALL })).message).toMatch(ZERO);
    }
    const fine = file(writer, [[forged(3, zig(7))]]);
    expect(await decodeAll(fine, { readerType: reader })).toEqual([{ id: 7 }]);
    expect(await decodeAll(fine, { readerType: resolved })).toEqual([{ id: 7, xs: [null, null, null] }]);
  });

  it('leaves items that take bytes to the block size: a long array of ints is not charged', async () => {
    const ints = Type.forSchema({ type: 'array', items: 'int' });
    const values = Array.from({ length: 5000 }, (_, i) => i);
    expect(await decodeAll(encodeFile(ints, [values, values]), { limits: { maxZeroByteItems: 1 } })).toEqual([values, values]);
  });
});
