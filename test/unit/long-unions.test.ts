import { Type } from 'avsc';
import { losslessTypeOf } from '../../src/avro/long';
import { typeForSchema } from '../../src/avro/type-cache';
import { decodeAll, encodeFile } from '../helpers/avro';

// Unions of a long and another number type are wrapped ({"long": 5}), as avsc does for any two
// number types. A block with a long past 2^53 is read with the lossless long: it must give and
// take the same wrapped values, or its whole numbers within 2^53 fit two branches and are refused.
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const cases: [string[], (object | null)[]][] = [
  [['int', 'long'], [{ int: 5 }, { long: 5 }, { long: MAX_SAFE }, { long: 2n ** 60n }]],
  [['long', 'double'], [{ long: 5 }, { double: 5 }, { long: MAX_SAFE }, { long: 2n ** 60n }, { double: 1.5 }]],
  [['long', 'float'], [{ long: 5 }, { float: 5 }, { long: MAX_SAFE }, { long: 2n ** 60n }, { float: 1.5 }]],
  [['null', 'long', 'double'], [{ long: 5 }, { double: 5 }, { long: MAX_SAFE }, { long: 2n ** 60n }, { double: 1.5 }, null]],
];

describe.each(cases)('a union %j with a long past 2^53 in the block', (union, values) => {
  const type = typeForSchema(JSON.stringify({ type: 'record', name: 'U', fields: [{ name: 'v', type: union }] }), { wrapUnions: 'auto' });
  const records = values.map((v) => ({ v }));

  it('is wrapped with the lossless long as with the plain one', () => {
    expect(losslessTypeOf(type).isValid({ v: { long: 5 } })).toBe(type.isValid({ v: { long: 5 } }));
    expect(losslessTypeOf(type).isValid({ v: { long: 2n ** 60n } })).toBe(true);
    expect(losslessTypeOf(type).toBuffer({ v: { long: 5 } }).equals(type.toBuffer({ v: { long: 5 } }))).toBe(true);
  });

  it('decodes every record with the branch it was written in, and encodes them back to the same bytes', async () => {
    const file = encodeFile(type, records);
    const read = await decodeAll(file);
    expect(read).toEqual(records);
    expect(encodeFile(type, read).equals(file)).toBe(true);
  });

  it('gives the same values from a block without a long past 2^53', async () => {
    const small = records.filter((r) => !JSON.stringify(r, (_k, x) => (typeof x === 'bigint' ? 'big' : x)).includes('big'));
    const mixed = await decodeAll(encodeFile(type, [...small, { v: { long: 2n ** 60n } }]));
    expect(mixed.slice(0, small.length)).toEqual(await decodeAll(encodeFile(type, small)));
  });
});

it('a union of a long and a string stays unwrapped: a number or bigint is its own branch', async () => {
  const type = Type.forSchema({ type: 'record', name: 'S', fields: [{ name: 'v', type: ['null', 'long', 'string'] }] });
  const records = [{ v: 5 }, { v: 2n ** 60n }, { v: 's' }, { v: null }];
  expect(await decodeAll(encodeFile(type, records))).toEqual(records);
});

it('named types inside a union are defined once in the lossless copy', () => {
  const type = typeForSchema(JSON.stringify({ type: 'record', name: 'N', fields: [
    { name: 'a', type: ['null', { type: 'record', name: 'In', fields: [{ name: 'x', type: ['long', 'double'] }] }] },
    { name: 'b', type: ['null', 'In'] },
  ] }));
  const v = { a: { x: { long: 2n ** 60n } }, b: null };
  expect(losslessTypeOf(type).isValid(v)).toBe(true);
  expect(losslessTypeOf(type).isValid({ a: null, b: { x: { double: 1.5 } } })).toBe(true);
});
