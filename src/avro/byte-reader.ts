/** Pulls bytes from an async chunk source, tracking the absolute offset. */
export class ByteReader {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private base: number;
  private ended = false;

  constructor(private readonly it: AsyncIterator<Buffer | Uint8Array>, startOffset: number) {
    this.base = startOffset;
  }

  get offset(): number {
    return this.base + this.pos;
  }

  /** Makes at least n bytes available; false if the source ends first. */
  async ensure(n: number): Promise<boolean> {
    let have = this.buf.length - this.pos;
    if (have >= n) return true;
    if (this.ended) return false;
    // Gather the chunks first and join them once: joining at every chunk would copy a large
    // block over and over (quadratic in its size).
    const parts: Buffer[] = have > 0 ? [this.buf.subarray(this.pos)] : [];
    while (have < n) {
      const r = await this.it.next();
      if (r.done) {
        this.ended = true;
        break;
      }
      const chunk = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
      parts.push(chunk);
      have += chunk.length;
    }
    // Drop consumed bytes so memory stays about one block.
    this.base += this.pos;
    this.buf = parts.length === 1 ? parts[0] : Buffer.concat(parts, have);
    this.pos = 0;
    return have >= n;
  }

  async atEnd(): Promise<boolean> {
    return !(await this.ensure(1));
  }

  available(): number {
    return this.buf.length - this.pos;
  }

  /**
   * Passes over n bytes without keeping them (a block's data that only its size matters for):
   * chunks are dropped as they come rather than joined. False if the source ends first.
   */
  async skip(n: number): Promise<boolean> {
    for (;;) {
      const have = this.buf.length - this.pos;
      if (have >= n) {
        this.pos += n;
        return true;
      }
      n -= have;
      this.base += this.buf.length;
      this.buf = Buffer.alloc(0);
      this.pos = 0;
      if (this.ended) return false;
      const r = await this.it.next();
      if (r.done) {
        this.ended = true;
        return false;
      }
      this.buf = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
    }
  }

  take(n: number): Buffer {
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /**
   * Reads a zig-zag varint long; null if the source ends before it is complete. Values past 2^53
   * come back as exact bigints, so that errors print the value the file holds, not a rounded one.
   */
  async readLong(): Promise<number | bigint | null> {
    let n = 0;
    let shift = 0;
    const bytes: number[] = [];
    for (let i = 0; i < 10; i++) {
      if (!(await this.ensure(1))) return null;
      const b = this.buf[this.pos++];
      bytes.push(b);
      n += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) {
        // The 10th byte holds bit 63 only (see varint.ts).
        if (i === 9 && b > 1) throw new Error('varint holds a value over 64 bits');
        // zig-zag decode without 32-bit bit ops; n is exact up to 2^53, and at least that past it
        if (n <= Number.MAX_SAFE_INTEGER) return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
        return exactLong(bytes);
      }
      shift += 7;
    }
    throw new Error('varint longer than 10 bytes');
  }
}

function exactLong(bytes: number[]): bigint {
  let u = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) u = (u << 7n) | BigInt(bytes[i] & 0x7f);
  return (u >> 1n) ^ -(u & 1n);
}
