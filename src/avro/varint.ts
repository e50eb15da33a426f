/**
 * Bounds on avsc's varint reading. avsc reads continuation bytes for as long as they come: an
 * over-long long decoded as 0 through the lossless path (its 8-byte buffer drops the excess), an
 * 11-byte encoding of a small value passed as that value, and a 6-byte "int" became 2^40 and went
 * through int-to-long resolution untouched. Java refuses longs over 10 bytes and ints over 5
 * ("Invalid long encoding"); so does this.
 *
 * Bits beyond 64 (beyond 32 for an int) in the last byte are refused too. No writer produces them
 * (the zig-zag form of a 64-bit value has at most 64 bits), and readers disagree on what they mean:
 * Java, C and Rust drop them, Python keeps them and yields a value outside the long range. There is
 * no value to commit that every reader agrees on, so such data is corrupt.
 *
 * The checks sit only where avsc already switches to slower float arithmetic (values of 2^27 and
 * up, or 2^28 continuation bits in): the common short varint costs nothing more.
 */

export class VarintError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VarintError';
  }
}

interface Tap {
  buf: Buffer;
  pos: number;
}

/** The first 4 bytes hold 28 bits; the rest of a long's 64 bits take 6 more bytes, an int's 4 bits 1. */
const LONG_BYTES = 10;
const INT_BYTES = 5;

function tooLong(kind: string, max: number, start: number): VarintError {
  return new VarintError(`${kind} varint at offset ${start} of the block is longer than the ${max} bytes an Avro ${kind} can take`);
}

function overflow(kind: string, bits: number, start: number): VarintError {
  return new VarintError(`${kind} varint at offset ${start} of the block holds a value over ${bits} bits`);
}

/**
 * Checks the varint that ran from `start` to `end` (the tap's position after it). Only called when
 * it is 5 or more bytes. A varint cut off by the end of the buffer is left to the callers' usual
 * past-the-end check, unless it is already too long within the buffer.
 */
function check(buf: Buffer, start: number, end: number, long: boolean): void {
  const len = end - start;
  const max = long ? LONG_BYTES : INT_BYTES;
  if (len > max) throw tooLong(long ? 'long' : 'int', max, start);
  // The last byte may hold only the bits left: 64 - 63 = 1 for a long, 32 - 28 = 4 for an int.
  if (len === max && end <= buf.length && buf[end - 1] > (long ? 1 : 0x0f)) {
    throw overflow(long ? 'long' : 'int', long ? 64 : 32, start);
  }
}

export function installVarintGuards(TapProto: Record<string, unknown>): void {
  TapProto.readLong = varintReader(true);
  TapProto.readInt = varintReader(false);
  TapProto.skipLong = varintSkipper(true);
  TapProto.skipInt = varintSkipper(false);

  // The lossless long (long.ts) reads through this: unchecked, it dropped bytes past the 8th.
  const unpack = TapProto.unpackLongBytes as (this: Tap) => Buffer;
  TapProto.unpackLongBytes = function (this: Tap) {
    const start = this.pos;
    const res = unpack.call(this);
    if (this.pos - start >= INT_BYTES) check(this.buf, start, this.pos, true);
    return res;
  };
}

/** avsc's readLong, with the check added to its float branch. */
function varintReader(long: boolean): (this: Tap) => number {
  const max = long ? LONG_BYTES : INT_BYTES;
  return function (this: Tap) {
    let n = 0;
    let k = 0;
    const buf = this.buf;
    let b: number;
    let h: number;
    do {
      b = buf[this.pos++];
      h = b & 0x80;
      n |= (b & 0x7f) << k;
      k += 7;
    } while (h && k < 28);
    if (h) {
      const start = this.pos - 4;
      let f = n;
      let fk = 268435456; // 2 ** 28
      do {
        b = buf[this.pos++];
        f += (b & 0x7f) * fk;
        fk *= 128;
      } while (b & 0x80);
      if (this.pos - start >= max) check(buf, start, this.pos, long);
      return (f % 2 ? -(f + 1) : f) / 2;
    }
    return (n >> 1) ^ -(n & 1);
  };
}

function varintSkipper(long: boolean): (this: Tap) => void {
  return function (this: Tap) {
    const buf = this.buf;
    const start = this.pos;
    while (buf[this.pos++] & 0x80) {
      /* skip */
    }
    if (this.pos - start >= INT_BYTES) check(buf, start, this.pos, long);
  };
}
