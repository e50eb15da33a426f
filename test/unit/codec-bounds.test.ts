import { Type } from 'avsc';
import { once } from 'node:events';
import zlib from 'node:zlib';
import snappy from 'snappy';
import { crc32 } from '@node-rs/crc32';
import * as zstd from 'zstd-napi/binding';
import { CodecName, decompressBlock } from '../../src/avro/codecs';
import { syncMarkerFor } from '../../src/avro/container';
import { AvroFormatError } from '../../src/avro/container-reader';
import { DEFAULT_READ_LIMITS } from '../../src/avro/limits';
import { decodeAll, encodeFile } from '../helpers/avro';

const MiB = 1024 * 1024;
const LIMIT = DEFAULT_READ_LIMITS.maxBlockBytes;
const blob = Type.forSchema({ type: 'record', name: 'Blob', fields: [{ name: 'b', type: 'bytes' }] });
const zig = (n: number) => Type.forSchema('long').toBuffer(n);

/** A container file of one block holding `body` as its compressed data. */
function fileWithBlock(codec: CodecName, body: Buffer, count = 1): Buffer {
  return Buffer.concat([encodeFile(blob, [], codec), zig(count), zig(body.length), body, syncMarkerFor('test')]);
}

/**
 * One zstd frame of `mib` MiB produced by `fill`, streamed through the compressor 1 MiB at a time
 * (the frame header then has no content size, as Java's Avro writes it, unless `pledged`).
 */
function zstdStreamed(mib: number, fill: (i: number, buf: Buffer) => void = () => {}, level = 1, pledged?: number): Buffer {
  const cctx = new zstd.CCtx();
  cctx.setParameter(zstd.CParameter.compressionLevel, level);
  if (pledged !== undefined) cctx.setPledgedSrcSize(pledged);
  const input = Buffer.alloc(MiB);
  const dst = Buffer.allocUnsafe(zstd.cStreamOutSize());
  const out: Buffer[] = [];
  for (let i = 0; i < mib; i++) {
    fill(i, input);
    const end = i === mib - 1;
    let src: Buffer = input;
    for (;;) {
      const [ret, produced, consumed] = cctx.compressStream2(dst, src, end ? zstd.EndDirective.end : zstd.EndDirective.continue);
      if (produced) out.push(Buffer.from(dst.subarray(0, produced)));
      src = src.subarray(consumed);
      if (src.length === 0 && (!end || ret === 0)) break;
    }
  }
  return Buffer.concat(out);
}

/** `mib` MiB of zeros through a streaming deflate, 1 MiB at a time. */
async function deflateStreamed(mib: number): Promise<Buffer> {
  const d = zlib.createDeflateRaw({ level: 9 });
  const out: Buffer[] = [];
  d.on('data', (c: Buffer) => out.push(c));
  const zeros = Buffer.alloc(MiB);
  for (let i = 0; i < mib; i++) if (!d.write(zeros)) await once(d, 'drain');
  d.end();
  await once(d, 'end');
  return Buffer.concat(out);
}

/** Peak RSS growth of `fn` over the RSS before it: a memory bound, whatever the timing. */
async function peakRssGrowth(fn: () => Promise<unknown>): Promise<number> {
  global.gc?.();
  const before = process.memoryUsage().rss;
  // maxRSS is the whole process's peak, earlier test files included: it counts only if fn raised
  // it; samples taken while fn yields cover peaks below an earlier one.
  const maxBefore = process.resourceUsage().maxRSS * 1024;
  let sampled = before;
  const t = setInterval(() => (sampled = Math.max(sampled, process.memoryUsage().rss)), 5);
  try {
    await fn();
  } finally {
    clearInterval(t);
  }
  const maxAfter = process.resourceUsage().maxRSS * 1024;
  return Math.max(sampled, maxAfter > maxBefore ? maxAfter : 0) - before;
}

async function failure(buf: Buffer, name = 's3://bucket/bomb.avro'): Promise<AvroFormatError> {
  try {
    await decodeAll(buf, { name });
  } catch (e) {
    return e as AvroFormatError;
  }
  throw new Error('expected the read to fail');
}

describe('decompression bombs stop at the block limit with bounded memory', () => {
  // Runs first, while the process's peak RSS is still low, so the peak measures this read alone.
  it('a 2 GiB zstd frame without a content size in a 64 KB object', async () => {
    const frame = zstdStreamed(2048);
    expect(frame.length).toBeLessThan(200_000);
    const file = fileWithBlock('zstandard', frame);
    let err: AvroFormatError | undefined;
    const growth = await peakRssGrowth(async () => (err = await failure(file)));
    expect(err).toBeInstanceOf(AvroFormatError);
    const header = encodeFile(blob, [], 'zstandard').length;
    expect(err!.message).toBe(`s3://bucket/bomb.avro: zstandard block inflates past the ${LIMIT}-byte block limit (at byte ${header})`);
    expect(growth).toBeLessThan(300 * MiB);
  });

  it('a legal block of 4,000 tiny frames allocates about its output, not a buffer per frame', async () => {
    const records = Array.from({ length: 4000 }, (_, i) => ({ b: Buffer.from(`record ${i}`) }));
    const cctx = new zstd.CCtx();
    cctx.setParameter(zstd.CParameter.contentSizeFlag, 0);
    const plain = records.map((r) => blob.toBuffer(r));
    const frames = plain.map((p) => {
      const dst = Buffer.allocUnsafe(zstd.compressBound(p.length));
      return Buffer.from(dst.subarray(0, cctx.compress2(dst, p)));
    });
    // Counted, not measured: untouched pages of a large allocation do not show in the RSS.
    const alloc = jest.spyOn(Buffer, 'allocUnsafe');
    let out: Buffer;
    let allocated: number;
    try {
      out = await decompressBlock('zstandard', Buffer.concat(frames), LIMIT);
      allocated = alloc.mock.calls.reduce((sum, [n]) => sum + n, 0);
    } finally {
      alloc.mockRestore(); // this also forgets the calls
    }
    expect(out.equals(Buffer.concat(plain))).toBe(true);
    expect(allocated).toBeGreaterThan(0);
    // At most one first slice (sized from the input, up to 1 MiB) beyond the output itself.
    expect(allocated).toBeLessThan(MiB + 2 * out.length);
    expect(await decodeAll(fileWithBlock('zstandard', Buffer.concat(frames), records.length))).toHaveLength(records.length);
  });

  it('2 GiB in 32 frames that each declare 64 MiB, and in 32 frames that declare nothing', async () => {
    const header = encodeFile(blob, [], 'zstandard').length;
    for (const frame of [zstdStreamed(64, undefined, 1, LIMIT), zstdStreamed(64)]) {
      const bomb = Buffer.concat(Array.from({ length: 32 }, () => frame));
      expect(bomb.length).toBeLessThan(200_000);
      let err: AvroFormatError | undefined;
      const growth = await peakRssGrowth(async () => (err = await failure(fileWithBlock('zstandard', bomb))));
      expect(err!.message).toBe(`s3://bucket/bomb.avro: zstandard block inflates past the ${LIMIT}-byte block limit (at byte ${header})`);
      expect(growth).toBeLessThan(300 * MiB);
    }
  });

  it('a zstd frame that declares more than the limit is refused before it is decompressed', async () => {
    const frame = zstdStreamed(65, undefined, 1, 65 * MiB);
    const err = await failure(fileWithBlock('zstandard', frame));
    expect(err.message).toMatch(/^s3:\/\/bucket\/bomb\.avro: zstandard block declares 68157440 bytes, over the 67108864-byte block limit \(at byte \d+\)$/);
  });

  it('a 128 MiB deflate bomb and a snappy block declaring 2 GiB', async () => {
    const deflate = await deflateStreamed(128);
    expect(deflate.length).toBeLessThan(200_000);
    let err: AvroFormatError | undefined;
    const growth = await peakRssGrowth(async () => (err = await failure(fileWithBlock('deflate', deflate))));
    expect(err!.message).toMatch(new RegExp(`^s3://bucket/bomb\\.avro: deflate block inflates past the ${LIMIT}-byte block limit \\(at byte \\d+\\)$`));
    expect(growth).toBeLessThan(300 * MiB);
    // Raw snappy starts with its output length as a varint: 2^31 here, then a few bytes of junk.
    const snappyBomb = Buffer.concat([Buffer.from([0x80, 0x80, 0x80, 0x80, 0x08]), Buffer.alloc(20), Buffer.alloc(4)]);
    expect((await failure(fileWithBlock('snappy', snappyBomb))).message).toMatch(/snappy block declares 2147483648 bytes, over the 67108864-byte block limit \(at byte \d+\)$/);
  });
});

describe('large legal blocks decompress without holding the event loop', () => {
  // 48 MiB of bytes from a 16-symbol alphabet: compressible, but real work to decode.
  let seed = 12345;
  const fill = (_: number, buf: Buffer) => {
    for (let k = 0; k < buf.length; k++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      buf[k] = 0x41 + (seed >>> 28);
    }
  };
  let plain: Buffer;
  beforeAll(() => {
    plain = Buffer.alloc(48 * MiB);
    for (let i = 0; i < 48; i++) fill(i, plain.subarray(i * MiB, (i + 1) * MiB));
  });

  /** Counts timer ticks, and checks that an immediate queued first runs, while `work` is under way. */
  async function whileRunning(work: () => Promise<Buffer>): Promise<{ ticks: number; immediateRan: boolean; out: Buffer }> {
    let ticks = 0;
    let immediateRan = false;
    let done = false;
    const timer = setInterval(() => ticks++, 1);
    setImmediate(() => (immediateRan = !done));
    try {
      const out = await work();
      done = true;
      return { ticks, immediateRan, out };
    } finally {
      clearInterval(timer);
    }
  }

  it.each([
    ['zstandard, no content size', 'zstandard' as const, () => zstdStreamed(48, (i, b) => plain.copy(b, 0, i * MiB, (i + 1) * MiB))],
    ['zstandard, declared size', 'zstandard' as const, () => zstdStreamed(48, (i, b) => plain.copy(b, 0, i * MiB, (i + 1) * MiB), 1, 48 * MiB)],
    ['deflate', 'deflate' as const, () => zlib.deflateRawSync(plain, { level: 1 })],
    ['snappy', 'snappy' as const, () => {
      const body = snappy.compressSync(plain);
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(crc32(plain) >>> 0);
      return Buffer.concat([body, crc]);
    }],
  ])('%s', async (_, codec, make) => {
    const compressed = make();
    expect(compressed.length).toBeLessThan(plain.length);
    const { ticks, immediateRan, out } = await whileRunning(() => decompressBlock(codec, compressed, LIMIT));
    expect(out.equals(plain)).toBe(true);
    expect(immediateRan).toBe(true);
    expect(ticks).toBeGreaterThanOrEqual(3);
  });

  it('reads records from a block of several zstd frames without content sizes', async () => {
    const records = Array.from({ length: 300 }, (_, i) => ({ b: Buffer.alloc(i * 10, i) }));
    const data = Buffer.concat(records.map((r) => blob.toBuffer(r)));
    const third = Math.floor(data.length / 3);
    const frames = [data.subarray(0, third), data.subarray(third, 2 * third), data.subarray(2 * third)].map((part) => {
      const c = new zstd.CCtx();
      c.setParameter(zstd.CParameter.contentSizeFlag, 0);
      const dst = Buffer.allocUnsafe(zstd.compressBound(part.length));
      return Buffer.from(dst.subarray(0, c.compress2(dst, part)));
    });
    expect(frames.every((f) => zstd.getFrameContentSize(f) === null)).toBe(true);
    const back = (await decodeAll(fileWithBlock('zstandard', Buffer.concat(frames), records.length))) as { b: Buffer }[];
    // Compared as hex: jest compares Buffers byte by byte, which takes seconds here.
    expect(back.map((r) => r.b.toString('hex'))).toEqual(records.map((r) => r.b.toString('hex')));
    // Cut inside the last frame: a clear error, not a short block.
    const cut = Buffer.concat(frames).subarray(0, -3);
    expect((await failure(fileWithBlock('zstandard', cut, records.length))).message).toMatch(/zstandard block is corrupt: it ends inside a frame \(at byte \d+\)$/);
  });
});
