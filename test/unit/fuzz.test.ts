import { Type } from 'avsc';
import fc from 'fast-check';
import { CODECS } from '../../src/avro/codecs';
import * as zstd from 'zstd-napi/binding';
import { syncMarkerFor } from '../../src/avro/container';
import { AvroFormatError } from '../../src/avro/container-reader';
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

// ---------------------------------------------------------------------------------------------
// zstandard blocks: frame shapes other writers produce (no content size, several frames), with
// mutated frame headers, repeated frames and frames of zeros that inflate past the limit.

const zig = (n: number) => Type.forSchema('long').toBuffer(n);
const SYNC = syncMarkerFor('test');
const zstdHeader = encodeFile(type, [], 'zstandard');

function zstdFrame(data: Buffer, declareSize: boolean): Buffer {
  const c = new zstd.CCtx();
  c.setParameter(zstd.CParameter.compressionLevel, 3);
  c.setParameter(zstd.CParameter.contentSizeFlag, declareSize ? 1 : 0);
  const dst = Buffer.allocUnsafe(zstd.compressBound(data.length));
  return Buffer.from(dst.subarray(0, c.compress2(dst, data)));
}

interface ZstdCase {
  from: number;
  count: number;
  parts: number;
  declareSize: boolean;
  repeat: number;
  zerosMiB: number;
  edits: { frame: number; at: number; value: number }[];
}

const zstdCase: fc.Arbitrary<ZstdCase> = fc.record({
  from: fc.integer({ min: 0, max: 59 }),
  count: fc.integer({ min: 1, max: 30 }),
  parts: fc.integer({ min: 1, max: 3 }),
  declareSize: fc.boolean(),
  // Repeating the frames gives more data than the count declares, or more than the limit.
  repeat: fc.oneof({ arbitrary: fc.constant(1), weight: 4 }, { arbitrary: fc.integer({ min: 2, max: 3 }), weight: 1 }, { arbitrary: fc.integer({ min: 50, max: 200 }), weight: 2 }),
  // A frame of zeros after the records: 0 (none), within the limit, or well past it.
  zerosMiB: fc.oneof({ arbitrary: fc.constant(0), weight: 3 }, { arbitrary: fc.constantFrom(0.5, 1, 3, 64), weight: 2 }),
  // Byte edits inside a frame's header (magic, descriptor, window, dictionary id, content size).
  edits: fc.array(fc.record({ frame: fc.nat(), at: fc.integer({ min: 0, max: 17 }), value: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x00, 0xff, 0xe0, 0xc0, 0x20)) }), { maxLength: 2 }),
});

const zerosFrames = new Map<string, Buffer>();
function zerosFrame(mib: number, declareSize: boolean): Buffer {
  const key = `${mib}/${declareSize}`;
  if (!zerosFrames.has(key)) zerosFrames.set(key, zstdFrame(Buffer.alloc(mib * 1024 * 1024), declareSize));
  return zerosFrames.get(key)!;
}

function zstdFile(c: ZstdCase): { file: Buffer; count: number; plainBytes: number; pristine: boolean } {
  const recs = Array.from({ length: c.count }, (_, i) => records[(c.from + i) % records.length]);
  const plain = Buffer.concat(recs.map((r) => type.toBuffer(r)));
  const cuts = Array.from({ length: c.parts + 1 }, (_, i) => Math.floor((plain.length * i) / c.parts));
  let frames = cuts.slice(1).map((end, i) => zstdFrame(plain.subarray(cuts[i], end), c.declareSize));
  if (c.zerosMiB) frames.push(zerosFrame(c.zerosMiB, c.declareSize));
  frames = Array.from({ length: c.repeat }, () => frames).flat().map((f) => Buffer.from(f));
  for (const e of c.edits) {
    const f = frames[e.frame % frames.length];
    if (e.at < f.length) f[e.at] = e.value;
  }
  const body = Buffer.concat(frames);
  const plainBytes = (plain.length + c.zerosMiB * 1024 * 1024) * c.repeat;
  const file = Buffer.concat([zstdHeader, zig(c.count), zig(body.length), body, SYNC]);
  return { file, count: c.count, plainBytes, pristine: c.edits.length === 0 };
}

describe('zstandard blocks under mutation (fast-check)', () => {
  it('decode, or fail with an AvroFormatError; never past the block limit, whatever the frames say', async () => {
    const outcomes = { decoded: 0, limit: 0, other: 0 };
    // Peak RSS while this property runs (maxRSS would include earlier test files in the same process).
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 5);
    await fc.assert(
      fc.asyncProperty(zstdCase, async (c) => {
        const { file, count, plainBytes, pristine } = zstdFile(c);
        try {
          const out = await decodeAll(file, { name: 's3://fuzz/zstd.avro', limits: LIMITS });
          expect(out).toHaveLength(count);
          // Whatever decoded stayed within the limit (an edit may have made it smaller, never larger).
          if (pristine) expect(plainBytes).toBeLessThanOrEqual(LIMITS.maxBlockBytes);
          outcomes.decoded++;
        } catch (err) {
          if (!(err instanceof AvroFormatError)) throw err;
          expect(err.message).toMatch(/^s3:\/\/fuzz\/zstd\.avro: .* \(at byte \d+\)$/s);
          expect(err.offset).toBe(zstdHeader.length);
          const overLimit = /inflates past the \d+-byte block limit|declares \d+ bytes, over the \d+-byte block limit/.test(err.message);
          // Intact frames that hold more than the limit must be refused for that, not decoded first.
          if (pristine && plainBytes > LIMITS.maxBlockBytes) expect(err.message).toMatch(/inflates past|over the/);
          if (overLimit) outcomes.limit++;
          else outcomes.other++;
        }
      }),
      { numRuns: 300, seed: 20261123 },
    );
    expect(outcomes.decoded).toBeGreaterThan(30);
    expect(outcomes.limit).toBeGreaterThan(30);
    expect(outcomes.other).toBeGreaterThan(30);
    clearInterval(sampler);
    expect(rssPeak - rssBefore).toBeLessThan(300 * 1024 * 1024);
  });
});

// ---------------------------------------------------------------------------------------------
// Forged counts in collections whose items take no bytes.

const zeroType = Type.forSchema({
  type: 'record', name: 'Z', fields: [
    { name: 'id', type: 'int' },
    { name: 'nulls', type: { type: 'array', items: 'null' } },
    { name: 'empties', type: { type: 'array', items: { type: 'record', name: 'E', fields: [] } } },
    { name: 'fixed0', type: { type: 'array', items: { type: 'fixed', name: 'F0', size: 0 } } },
    { name: 'nested', type: { type: 'array', items: { type: 'array', items: ['null', { type: 'record', name: 'E2', fields: [{ name: 'n', type: 'null' }] }] } } },
  ],
} as never);
const ZERO_FIELDS = 3; // nulls, empties, fixed0: a run is its count and nothing else
const ZERO_LIMITS = { ...LIMITS, maxZeroByteItems: 50_000 };
const zeroHeader = encodeFile(zeroType, []);

// A run's count: small, near the per-collection limit, or far past it; negative counts carry a byte size.
const runCount = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 5 }), weight: 40 },
  { arbitrary: fc.integer({ min: 5_000, max: 10_000 }), weight: 2 },
  { arbitrary: fc.integer({ min: 10_001, max: 2 ** 40 }), weight: 1 },
);
const zeroRecord = fc.record({
  runs: fc.array(fc.array(fc.record({ n: runCount, negative: fc.boolean() }), { maxLength: 3 }), { minLength: ZERO_FIELDS, maxLength: ZERO_FIELDS }),
  nested: fc.array(fc.nat({ max: 3 }), { maxLength: 3 }),
});

function encodeZeroRecord(r: { runs: { n: number; negative: boolean }[][]; nested: number[] }): { bytes: Buffer; items: number } {
  const parts = [zig(1)];
  let items = 0;
  for (const runs of r.runs) {
    for (const { n, negative } of runs) {
      if (n === 0) continue;
      parts.push(negative ? Buffer.concat([zig(-n), zig(0)]) : zig(n));
      items += n;
    }
    parts.push(zig(0));
  }
  // nested: one outer run; each inner array is a run of `k` union-index-0 (null) items.
  if (r.nested.length) {
    parts.push(zig(r.nested.length));
    for (const k of r.nested) {
      if (k) parts.push(zig(k), Buffer.alloc(k, 0));
      parts.push(zig(0));
    }
  }
  parts.push(zig(0));
  return { bytes: Buffer.concat(parts), items };
}

describe('forged counts of items that take no bytes (fast-check)', () => {
  it('decode within the per-object budget, or fail with an AvroFormatError', async () => {
    const outcomes = { decoded: 0, failed: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(zeroRecord, { minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 3 }), async (blocks) => {
        const parts = [zeroHeader];
        for (const recs of blocks) {
          const body = Buffer.concat(recs.map((r) => encodeZeroRecord(r).bytes));
          parts.push(zig(recs.length), zig(body.length), body, SYNC);
        }
        try {
          const out = (await decodeAll(Buffer.concat(parts), { name: 's3://fuzz/zero.avro', limits: ZERO_LIMITS })) as Record<string, unknown[]>[];
          const free = out.reduce((sum, r) => sum + r.nulls.length + r.empties.length + r.fixed0.length, 0);
          expect(free).toBeLessThanOrEqual(ZERO_LIMITS.maxZeroByteItems);
          outcomes.decoded++;
        } catch (err) {
          if (!(err instanceof AvroFormatError)) throw err;
          expect(err.message).toMatch(/^s3:\/\/fuzz\/zero\.avro: record \d+ of block: .* \(at byte \d+\)$/s);
          outcomes.failed++;
        }
      }),
      { numRuns: 300, seed: 20261124 },
    );
    expect(outcomes.decoded).toBeGreaterThan(20);
    expect(outcomes.failed).toBeGreaterThan(20);
  });
});
