import { Type } from 'avsc';
import fc from 'fast-check';
import { CODECS } from '../../src/avro/codecs';
import { AvroFormatError } from '../../src/avro/container';
import { decodeAll, encodeFile } from '../helpers/avro';

const type = Type.forSchema({
  type: 'record', name: 'Node', fields: [
    { name: 'id', type: 'long' },
    { name: 'name', type: 'string' },
    { name: 'blob', type: 'bytes' },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'attrs', type: { type: 'map', values: ['null', 'double'] } },
    { name: 'kind', type: { type: 'enum', name: 'Kind', symbols: ['A', 'B', 'C'] } },
    { name: 'child', type: ['null', 'Node'], default: null },
  ],
} as never);

function node(i: number, depth = 0): unknown {
  return {
    id: i * 7919, name: `n${i}-é`, blob: Buffer.from([i & 255, 1, 2]), tags: Array.from({ length: i % 4 }, (_, k) => `t${k}`),
    attrs: { a: i / 3, b: null }, kind: ['A', 'B', 'C'][i % 3], child: depth < 2 && i % 2 ? node(i + 1, depth + 1) : null,
  };
}
const records = Array.from({ length: 60 }, (_, i) => node(i));
const files = CODECS.map((codec) => encodeFile(type, records, codec, { blockBytes: 400 }));
const LIMITS = { maxBlockBytes: 1 << 20, maxBlockRecords: 10_000, maxCollectionItems: 10_000 };

type Mutation = { kind: 'flip'; at: number; bit: number } | { kind: 'truncate'; at: number } | { kind: 'insert'; at: number; bytes: readonly number[] } | { kind: 'overwrite'; at: number; bytes: readonly number[] };

function mutate(buf: Buffer, ms: Mutation[]): Buffer {
  let b = Buffer.from(buf);
  for (const m of ms) {
    const at = m.at % Math.max(1, b.length);
    if (m.kind === 'flip') b[at] ^= 1 << m.bit;
    else if (m.kind === 'truncate') b = b.subarray(0, at);
    else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
    else Buffer.from(m.bytes).copy(b, at);
  }
  return b;
}

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 12 }) }),
  // Forged varints: huge lengths and counts (0xff… continuation bytes) are the classic attack.
  fc.record({ kind: fc.constant('overwrite' as const), at: fc.nat(), bytes: fc.constantFrom([0xff, 0xff, 0xff, 0xff, 0xff, 0x0f], [0xfe, 0xff, 0xff, 0xff, 0x07], [0x01], [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]) }),
);

describe('hardened reader under mutation (fast-check)', () => {
  it('either decodes or fails with an AvroFormatError naming object and offset, never anything else', async () => {
    let decoded = 0;
    let failed = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: files.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 3 }), async (f, ms) => {
        const buf = mutate(files[f], ms);
        const started = Date.now();
        try {
          const out = await decodeAll(buf, { name: 's3://fuzz/file.avro', limits: LIMITS });
          expect(Array.isArray(out)).toBe(true);
          decoded++;
        } catch (err) {
          if (!(err instanceof AvroFormatError)) throw err;
          expect(err.message).toMatch(/^s3:\/\/fuzz\/file\.avro: .* \(at byte \d+\)$/s);
          failed++;
        }
        expect(Date.now() - started).toBeLessThan(2000);
      }),
      { numRuns: 400, seed: 20261122 },
    );
    expect(decoded + failed).toBe(400);
    expect(failed).toBeGreaterThan(100);
  });

  it('refuses deeply nested data cleanly', async () => {
    const deep = Type.forSchema({ type: 'record', name: 'D', fields: [{ name: 'next', type: ['null', 'D'], default: null }] } as never);
    let v: unknown = null;
    for (let i = 0; i < 200; i++) v = { next: v };
    expect(await decodeAll(encodeFile(deep, [v]))).toHaveLength(1);
    // 100k levels in 100k bytes: a union index of 1 repeated, then null.
    const header = encodeFile(deep, []);
    const zig = (n: number) => Type.forSchema('long').toBuffer(n);
    const body = Buffer.concat([Buffer.alloc(100_000, 0x02), Buffer.from([0x00])]);
    const { syncMarkerFor } = await import('../../src/avro/container');
    const file = Buffer.concat([header, zig(1), zig(body.length), body, syncMarkerFor('test')]);
    await expect(decodeAll(file, { name: 'deep.avro' })).rejects.toThrow(/deep\.avro: record 0 of block: values are nested too deeply to decode/);
  });

  it('refuses invalid UTF-8 in a string', async () => {
    const s = Type.forSchema({ type: 'record', name: 'S', fields: [{ name: 's', type: 'string' }] } as never);
    const good = encodeFile(s, [{ s: 'abc' }]);
    const i = good.indexOf(Buffer.from('abc'));
    const bad = Buffer.from(good);
    bad[i + 1] = 0xc3; // a lead byte followed by "c": not UTF-8
    await expect(decodeAll(bad, { name: 'utf8.avro' })).rejects.toThrow(/utf8\.avro: record 0 of block: string of 3 bytes at offset 1 of the block is not valid UTF-8/);
  });
});
