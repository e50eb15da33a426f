import zlib from 'node:zlib';
import { promisify } from 'node:util';
import snappy from 'snappy';
import { crc32 } from '@node-rs/crc32';
import { Compressor } from 'zstd-napi';
import * as zstd from 'zstd-napi/binding';

/** Avro container codecs, with the spec's names. */
export type CodecName = 'null' | 'deflate' | 'snappy' | 'zstandard';
export const CODECS: readonly CodecName[] = ['null', 'deflate', 'snappy', 'zstandard'];

export class CodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CodecError';
  }
}

export function isCodecName(x: unknown): x is CodecName {
  return typeof x === 'string' && (CODECS as readonly string[]).includes(x);
}

// Fixed levels: the same input must give the same bytes on every worker.
const DEFLATE_LEVEL = 6;
const ZSTD_LEVEL = 3;
let zstdCompressor: Compressor | undefined;

export function compressBlock(codec: CodecName, data: Buffer): Buffer {
  switch (codec) {
    case 'null':
      return data;
    case 'deflate':
      return zlib.deflateRawSync(data, { level: DEFLATE_LEVEL });
    case 'snappy': {
      // Spec: raw snappy followed by the 4-byte big-endian CRC32 of the uncompressed data.
      const body = snappy.compressSync(data);
      const out = Buffer.allocUnsafe(body.length + 4);
      body.copy(out, 0);
      out.writeUInt32BE(crc32(data) >>> 0, body.length);
      return out;
    }
    case 'zstandard': {
      if (!zstdCompressor) {
        zstdCompressor = new Compressor();
        zstdCompressor.setParameters({ compressionLevel: ZSTD_LEVEL });
      }
      return zstdCompressor.compress(data);
    }
  }
}

/** Reads the varint length prefix of a raw snappy stream, so a bomb is refused before it is inflated. */
function snappyUncompressedLength(buf: Buffer): number {
  let result = 0;
  let shift = 0;
  for (let i = 0; i < Math.min(buf.length, 5); i++) {
    const b = buf[i];
    result += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return result;
    shift += 7;
  }
  throw new CodecError('snappy block has a malformed length prefix');
}

/**
 * Below this many output bytes a block is decompressed in one synchronous call: that is the hot
 * path (partflow's blocks are ~64 KB). Larger outputs are produced in slices with a turn of the
 * event loop between them, so that heartbeats and other activities on the worker keep running.
 */
const SYNC_OUTPUT_BYTES = 4 * 1024 * 1024;
const SLICE_BYTES = 1024 * 1024;

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
const inflateRawAsync = promisify(zlib.inflateRaw) as (buf: Buffer, opts: zlib.ZlibOptions) => Promise<Buffer>;

/**
 * Decompresses one block, refusing to produce more than `maxSize` bytes (decompression bombs):
 * memory stays within about the limit, and large blocks do not hold the event loop.
 */
export async function decompressBlock(codec: CodecName, data: Buffer, maxSize: number): Promise<Buffer> {
  switch (codec) {
    case 'null':
      return data;
    case 'deflate':
      return inflateBounded(data, maxSize);
    case 'snappy':
      return snappyDecompress(data, maxSize);
    case 'zstandard':
      return zstdDecompress(data, maxSize);
  }
}

async function inflateBounded(data: Buffer, maxSize: number): Promise<Buffer> {
  // Deflate does not record its output size: try the hot path with a small cap, and only when the
  // output is bigger inflate again off the main thread (zlib's async API runs on the thread pool).
  const syncCap = Math.min(maxSize, SYNC_OUTPUT_BYTES);
  try {
    return zlib.inflateRawSync(data, { maxOutputLength: syncCap });
  } catch (err) {
    if (!isTooLarge(err)) throw new CodecError(`deflate block is corrupt: ${(err as Error).message}`);
    if (syncCap === maxSize) throw new CodecError(`deflate block inflates past the ${maxSize}-byte block limit`);
  }
  try {
    return await inflateRawAsync(data, { maxOutputLength: maxSize, chunkSize: SLICE_BYTES });
  } catch (err) {
    if (isTooLarge(err)) throw new CodecError(`deflate block inflates past the ${maxSize}-byte block limit`);
    throw new CodecError(`deflate block is corrupt: ${(err as Error).message}`);
  }
}

function isTooLarge(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException;
  return e?.code === 'ERR_BUFFER_TOO_LARGE' || /Cannot create a Buffer larger|maxOutputLength/i.test(e?.message ?? '');
}

async function snappyDecompress(data: Buffer, maxSize: number): Promise<Buffer> {
  if (data.length < 4) throw new CodecError('snappy block is shorter than its CRC32 trailer');
  const body = data.subarray(0, data.length - 4);
  const expected = data.readUInt32BE(data.length - 4);
  // Raw snappy states its output length first: refuse a bomb before anything is allocated.
  const len = snappyUncompressedLength(body);
  if (len > maxSize) throw new CodecError(`snappy block declares ${len} bytes, over the ${maxSize}-byte block limit`);
  let out: Buffer;
  try {
    out = (len > SYNC_OUTPUT_BYTES ? await snappy.uncompress(body, { asBuffer: true }) : snappy.uncompressSync(body, { asBuffer: true })) as Buffer;
  } catch (err) {
    throw new CodecError(`snappy block is corrupt: ${(err as Error).message}`);
  }
  const actual = crc32(out) >>> 0;
  if (actual !== expected) {
    throw new CodecError(`snappy block CRC32 mismatch: trailer ${hex32(expected)}, data ${hex32(actual)}`);
  }
  return out;
}

async function zstdDecompress(data: Buffer, maxSize: number): Promise<Buffer> {
  // Fast path: exactly one frame that declares its size (as partflow's own do), small enough for
  // one synchronous call. Anything else (no size, several frames, a big block) streams.
  const declared = zstdFrameContentSize(data);
  if (declared !== undefined && declared > maxSize) {
    throw new CodecError(`zstandard block declares ${declared} bytes, over the ${maxSize}-byte block limit`);
  }
  if (declared !== undefined && declared <= SYNC_OUTPUT_BYTES && isSingleFrame(data)) {
    const out = Buffer.allocUnsafe(declared);
    const dctx = takeDCtx();
    try {
      if (dctx.decompress(out, data) === declared) return out;
    } catch {
      // the streaming path reports what is wrong
    } finally {
      releaseDCtx(dctx);
    }
  }
  return zstdDecompressBounded(data, maxSize);
}

function isSingleFrame(data: Buffer): boolean {
  try {
    return zstd.findFrameCompressedSize(data) === data.length;
  } catch {
    return false;
  }
}

// Decompression contexts are reused (creating one per block costs more than a small block), but a
// context is busy across the slices of one block, so each block takes its own from this pool.
const dctxPool: zstd.DCtx[] = [];
function takeDCtx(): zstd.DCtx {
  return dctxPool.pop() ?? new zstd.DCtx();
}
function releaseDCtx(dctx: zstd.DCtx): void {
  dctx.reset(zstd.ResetDirective.sessionOnly);
  if (dctxPool.length < 16) dctxPool.push(dctx);
}

/**
 * Streams every frame of the block through one context into slices of at most 1 MiB, at most
 * `maxSize + 1` bytes in all: the byte past the limit is what proves a bomb, so nothing beyond it
 * is ever allocated. Frames are written one after another into the same slice, so a block of many
 * small frames does not hold a buffer per frame.
 */
async function zstdDecompressBounded(data: Buffer, maxSize: number): Promise<Buffer> {
  if (data.length === 0) return data;
  const dctx = takeDCtx();
  const full: Buffer[] = [];
  // The first slice is sized from the input so that a typical block is one call and one buffer.
  let slice = Buffer.allocUnsafe(Math.min(maxSize + 1, SLICE_BYTES, Math.max(64 * 1024, data.length * 8)));
  let used = 0;
  let size = 0;
  let src = data;
  let sinceYield = 0;
  let calls = 0;
  try {
    for (;;) {
      if (used === slice.length) {
        full.push(slice);
        slice = Buffer.allocUnsafe(Math.min(SLICE_BYTES, maxSize + 1 - size));
        used = 0;
      }
      const room = slice.length - used;
      let ret: number;
      let produced: number;
      let consumed: number;
      try {
        [ret, produced, consumed] = dctx.decompressStream(slice.subarray(used), src);
      } catch (err) {
        throw new CodecError(`zstandard block is corrupt: ${(err as Error).message}`);
      }
      used += produced;
      size += produced;
      if (size > maxSize) throw new CodecError(`zstandard block inflates past the ${maxSize}-byte block limit`);
      src = src.subarray(consumed);
      if (src.length === 0 && (ret === 0 || produced < room)) {
        if (ret !== 0) throw new CodecError('zstandard block is corrupt: it ends inside a frame');
        break;
      }
      if (produced === 0 && consumed === 0) throw new CodecError('zstandard block is corrupt: the decoder makes no progress');
      // Let the event loop run about once per MiB of output, and now and then for many tiny frames.
      sinceYield += produced;
      if (sinceYield >= SLICE_BYTES || ++calls % 256 === 0) {
        sinceYield = 0;
        await yieldToEventLoop();
      }
    }
  } finally {
    releaseDCtx(dctx);
  }
  if (full.length === 0) return slice.subarray(0, used);
  full.push(slice.subarray(0, used));
  return Buffer.concat(full, size);
}

/**
 * The Frame_Content_Size of a block that starts with a zstd frame, if the frame header has it
 * (RFC 8878 §3.1.1.1); undefined otherwise. It says nothing about frames that follow.
 */
export function zstdFrameContentSize(buf: Buffer): number | undefined {
  if (buf.length < 6 || buf.readUInt32LE(0) !== 0xfd2fb528) return undefined;
  const fhd = buf[4];
  const fcsFlag = fhd >> 6;
  const single = (fhd >> 5) & 1;
  const dictFlag = fhd & 3;
  if (fcsFlag === 0 && !single) return undefined;
  let pos = 5 + (single ? 0 : 1) + [0, 1, 2, 4][dictFlag];
  const size = [1, 2, 4, 8][fcsFlag];
  if (buf.length < pos + size) return undefined;
  let n: number;
  if (size === 1) n = buf[pos];
  else if (size === 2) n = buf.readUInt16LE(pos) + 256;
  else if (size === 4) n = buf.readUInt32LE(pos);
  else {
    const big = buf.readBigUInt64LE(pos);
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER;
    n = Number(big);
  }
  return n;
}

function hex32(n: number): string {
  return '0x' + n.toString(16).padStart(8, '0');
}
