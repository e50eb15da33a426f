import zlib from 'node:zlib';
import snappy from 'snappy';
import { crc32 } from '@node-rs/crc32';
import { Compressor, Decompressor, DecompressStream } from 'zstd-napi';

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
 * Decompresses one block, refusing to produce more than `maxSize` bytes (decompression bombs).
 */
export async function decompressBlock(codec: CodecName, data: Buffer, maxSize: number): Promise<Buffer> {
  switch (codec) {
    case 'null':
      return data;
    case 'deflate':
      try {
        return zlib.inflateRawSync(data, { maxOutputLength: maxSize });
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'ERR_BUFFER_TOO_LARGE' || /Cannot create a Buffer larger|maxOutputLength/i.test(e.message)) {
          throw new CodecError(`deflate block inflates past the ${maxSize}-byte block limit`);
        }
        throw new CodecError(`deflate block is corrupt: ${e.message}`);
      }
    case 'snappy': {
      if (data.length < 4) throw new CodecError('snappy block is shorter than its CRC32 trailer');
      const body = data.subarray(0, data.length - 4);
      const expected = data.readUInt32BE(data.length - 4);
      const len = snappyUncompressedLength(body);
      if (len > maxSize) throw new CodecError(`snappy block declares ${len} bytes, over the ${maxSize}-byte block limit`);
      let out: Buffer;
      try {
        out = snappy.uncompressSync(body, { asBuffer: true }) as Buffer;
      } catch (err) {
        throw new CodecError(`snappy block is corrupt: ${(err as Error).message}`);
      }
      const actual = crc32(out) >>> 0;
      if (actual !== expected) {
        throw new CodecError(`snappy block CRC32 mismatch: trailer ${hex32(expected)}, data ${hex32(actual)}`);
      }
      return out;
    }
    case 'zstandard': {
      // Fast path: a single frame that declares its size (as partflow's own do) within the limit.
      const declared = zstdFrameContentSize(data);
      if (declared !== undefined && declared <= maxSize) {
        try {
          zstdDecompressor ??= new Decompressor();
          const out = zstdDecompressor.decompress(data);
          if (out.length === declared) return out;
        } catch {
          // fall through to the streaming path, which reports the error
        }
      } else if (declared !== undefined) {
        throw new CodecError(`zstandard block declares ${declared} bytes, over the ${maxSize}-byte block limit`);
      }
      return zstdDecompressBounded(data, maxSize);
    }
  }
}

let zstdDecompressor: Decompressor | undefined;

/**
 * The Frame_Content_Size of a block that is exactly one zstd frame, if the frame header has it
 * (RFC 8878 §3.1.1.1); undefined otherwise (no size in the header, or more than one frame).
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

// Streaming decompression works whether or not the frame records its content size
// (Avro writers in other languages often omit it) and lets us stop at the limit.
function zstdDecompressBounded(data: Buffer, maxSize: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const d = new DecompressStream();
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    d.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxSize && !failed) {
        failed = true;
        d.destroy();
        reject(new CodecError(`zstandard block inflates past the ${maxSize}-byte block limit`));
        return;
      }
      chunks.push(c);
    });
    d.on('error', (err) => {
      if (!failed) {
        failed = true;
        reject(new CodecError(`zstandard block is corrupt: ${err.message}`));
      }
    });
    d.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks, size));
    });
    d.end(data);
  });
}
