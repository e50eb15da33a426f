import { Type } from 'avsc';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Block, blockDecoder, decodeBlock } from '../../src/avro/container-reader';
import { blockHeapBound, UNGUARDED_BLOCK_HEAP } from '../../src/avro/decode-bound';
import { forSchema } from '../../src/avro/proto-fields';

/**
 * The decode guard skips blocks whose heap bound is small: the bound must hold for the worst
 * encodings of a schema (the fewest bytes per allocation), and be absent where it cannot.
 */
const t = (schema: unknown) => Type.forSchema(schema as never, { wrapUnions: 'auto' });
const zig = (n: number) => Type.forSchema('long').toBuffer(n);

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Heap the decoded records of a block hold, measured. */
function heapOf(type: Type, records: Buffer[]): { measured: number; bound: number } {
  const data = Buffer.concat(records);
  const block: Block = { offset: 0, end: data.length, count: records.length, data };
  const decoder = blockDecoder(type);
  // Twice: one collection can leave garbage of earlier tests that the next one frees, which
  // would make the measured heap too small.
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const decoded = decodeBlock('test', block, decoder);
  gc();
  const measured = process.memoryUsage().heapUsed - before;
  expect(decoded).toHaveLength(records.length);
  return { measured, bound: blockHeapBound(type, undefined, records.length, data.length)! };
}

const OFFER = t({
  type: 'record', name: 'Offer', fields: [
    { name: 'id', type: 'long' }, { name: 'merchant', type: 'string' }, { name: 'title', type: 'string' },
    { name: 'price', type: 'double' }, { name: 'currency', type: 'string' }, { name: 'url', type: ['null', 'string'] },
  ],
});

function nested(depth: number): Type {
  let schema: unknown = { type: 'record', name: 'N0', fields: [{ name: 'x', type: 'int' }] };
  for (let d = 1; d < depth; d++) schema = { type: 'record', name: `N${d}`, fields: [{ name: 'in', type: schema }, { name: 'z', type: 'null' }] };
  return t(schema);
}

describe('the heap bound of a block', () => {
  it('is small for ordinary records in ordinary blocks, and grows with count, bytes and nesting', () => {
    const b = blockHeapBound(OFFER, undefined, 1000, 64 * 1024)!;
    expect(b).toBeGreaterThan(0);
    expect(b).toBeLessThan(UNGUARDED_BLOCK_HEAP / 16);
    expect(blockHeapBound(OFFER, undefined, 2000, 64 * 1024)!).toBeGreaterThan(b);
    expect(blockHeapBound(OFFER, undefined, 1000, 128 * 1024)!).toBeGreaterThan(b);
    expect(blockHeapBound(OFFER, OFFER, 1000, 64 * 1024)).toBe(b);
    expect(blockHeapBound(nested(100), undefined, 1000, 1000)!).toBeGreaterThan(50 * blockHeapBound(nested(1), undefined, 1000, 1000)!);
  });

  it('is absent where no bound follows from the bytes: items of no bytes, maps, recursion, a reader schema', () => {
    // Keys like "2575" give a map object an array store of thousands of slots from a few bytes.
    expect(blockHeapBound(t({ type: 'map', values: 'null' }), undefined, 10, 1000)).toBeUndefined();
    expect(blockHeapBound(t({ type: 'record', name: 'M', fields: [{ name: 'm', type: { type: 'map', values: 'int' } }] }), undefined, 10, 1000)).toBeUndefined();
    expect(blockHeapBound(t({ type: 'array', items: 'null' }), undefined, 1, 10)).toBeUndefined();
    expect(blockHeapBound(t({ type: 'array', items: { type: 'record', name: 'E', fields: [] } }), undefined, 1, 10)).toBeUndefined();
    expect(blockHeapBound(t({ type: 'array', items: { type: 'fixed', name: 'F0', size: 0 } }), undefined, 1, 10)).toBeUndefined();
    const list = t({ type: 'record', name: 'Node', fields: [{ name: 'v', type: 'int' }, { name: 'next', type: ['null', 'Node'] }] });
    expect(blockHeapBound(list, undefined, 1, 10)).toBeUndefined();
    const reader = t({ type: 'record', name: 'Offer', fields: [{ name: 'id', type: 'long' }, { name: 'extra', type: 'string', default: 'x' }] });
    expect(blockHeapBound(OFFER, reader, 1, 10)).toBeUndefined();
  });

  it('holds for the cheapest encodings: deep nesting, wide arrays of small records, short strings, unions', () => {
    const cases: [string, Type, Buffer[]][] = [
      // 1 byte per record, 40 objects each.
      ['nested records', nested(40), Array.from({ length: 20_000 }, () => zig(1))],
      // One record: 200,000 items of one byte, an object each.
      ['array of small records', t({ type: 'record', name: 'A', fields: [{ name: 'xs', type: { type: 'array', items: { type: 'record', name: 'B', fields: [{ name: 'b', type: 'boolean' }, { name: 'n', type: 'null' }] } } }] }),
        [Buffer.concat([zig(200_000), Buffer.alloc(200_000, 1), zig(0)])]],
      // One two-byte character per string.
      ['short strings', t({ type: 'array', items: 'string' }), [Buffer.concat([zig(100_000), ...Array.from({ length: 100_000 }, () => Buffer.concat([zig(2), Buffer.from('é')])), zig(0)])]],
      // Wrapped unions of a double: an object around a boxed number per 9 bytes.
      ['wrapped unions', t({ type: 'array', items: ['double', 'string'] }), [Buffer.concat([zig(50_000), ...Array.from({ length: 50_000 }, (_, i) => Buffer.concat([zig(0), Type.forSchema('double').toBuffer(i + 0.5)])), zig(0)])]],
      ['offers', OFFER, Array.from({ length: 50_000 }, (_, i) => OFFER.toBuffer({ id: 2 ** 40 + i, merchant: 'm', title: `t${i}`, price: i + 0.25, currency: 'EUR', url: null }))],
      // A field named __proto__ is an own property of the record like any other (proto-fields.ts).
      ['__proto__ fields', forSchema({ type: 'record', name: 'P', fields: [{ name: '__proto__', type: { type: 'record', name: 'E2', fields: [{ name: 'n', type: 'int' }, { name: '__proto__', type: 'null' }] } }] }),
        Array.from({ length: 50_000 }, () => zig(1))],
      // 400 one-byte fields per record: more properties than V8 keeps inside an object.
      ['wide records', t({ type: 'record', name: 'W', fields: Array.from({ length: 400 }, (_, i) => ({ name: `f${i}`, type: 'int' })) }),
        Array.from({ length: 2000 }, (_, i) => Buffer.alloc(400, (2 * i) % 128))],
    ];
    for (const [name, type, records] of cases) {
      const { measured, bound } = heapOf(type, records);
      if (process.env.DEBUG_BOUND) console.log(name, measured, bound, (bound / measured).toFixed(1));
      expect({ name, fits: measured <= bound }).toEqual({ name, fits: true });
    }
  });
});
