import { createHash, Hash } from 'node:crypto';

/**
 * SHA-256 of each chunk's bytes as they stream by (Chunk.sha256). Where a chunk ends is known
 * only once the record that ends it is parsed, which happens before the buffer after the one
 * holding its end is read: so the last two buffers read wait, and older bytes are hashed at once,
 * keeping memory bounded however long a record is. Should a cut ever fall among bytes already
 * hashed, the chunks on both sides of it get no hash rather than a wrong one.
 */
export class ChunkHasher {
  private pending: Buffer[] = [];
  /** Offset of the first pending byte. */
  private at: number;
  /** CSV: the hashed header bytes, which every chunk's hash starts from. */
  private seed?: Hash;
  private hash: Hash;
  /**
   * From the last cut until a record follows it: its hash, then the bytes after it. Should no
   * record follow, they belong to the chunk cut last, whose hash becomes this one's (see extended).
   */
  private tail?: Hash;
  /** Bytes hashed since the last cut. */
  private since = 0;
  /** The current chunk's hash lacks some of its bytes. */
  private bad = false;
  /** The header's hash took bytes past it: no chunk can be hashed. */
  private off = false;
  /** Bytes from the start kept unhashed until a buffer starting past them is read (see holdFirst). */
  private hold = 0;
  private pendingBytes = 0;

  /** `lastCut`: resuming at a cut, the hash of the chunk it ended. */
  constructor(start: number, header?: Buffer, lastCut?: string) {
    this.at = start;
    if (header) this.seed = createHash('sha256').update(header);
    this.hash = this.fresh();
    if (lastCut) this.tail = createHash('sha256').update(lastCut);
  }

  private fresh(): Hash {
    return this.seed ? this.seed.copy() : createHash('sha256');
  }

  /**
   * CSV from the start: its parse waits for up to `bytes` (the delimiter sniff's) before the
   * header row is known, so those bytes wait too, as the last two buffers do.
   */
  holdFirst(bytes: number): void {
    this.hold = bytes;
  }

  /** A buffer read from the object, in order. */
  push(b: Buffer): void {
    this.pending.push(b);
    this.pendingBytes += b.length;
    // Only once a buffer starting past the held bytes is read has the parse passed them.
    if (this.at + this.pendingBytes - b.length < this.hold) return;
    while (this.pending.length > 2) this.take(this.at + this.pending[0].length);
  }

  private take(end: number): void {
    while (this.at < end && this.pending.length) {
      const b = this.pending[0];
      const n = Math.min(b.length, end - this.at);
      const part = n === b.length ? b : b.subarray(0, n);
      this.hash.update(part);
      this.tail?.update(part);
      this.since += n;
      this.at += n;
      this.pendingBytes -= n;
      if (n === b.length) this.pending.shift();
      else this.pending[0] = b.subarray(n);
    }
  }

  /** CSV: the header row ends at `end`, where the first chunk starts. */
  header(end: number): void {
    if (end < this.at) this.off = true;
    this.take(end);
    this.seed = this.hash;
    this.hash = this.fresh();
    this.since = 0;
  }

  /** A record of the current chunk ended: the bytes since the last cut start this chunk. */
  record(): void {
    this.tail = undefined;
  }

  /** Cuts the current chunk at `end`; returns its hash. */
  cut(end: number): string | undefined {
    const overrun = end < this.at;
    this.take(end);
    const digest = this.off || this.bad || overrun ? undefined : this.hash.digest('hex');
    this.tail = digest === undefined ? undefined : createHash('sha256').update(digest);
    this.bad = overrun;
    this.hash = this.fresh();
    this.since = 0;
    return digest;
  }

  /** The end of the object: hashes the rest into the current chunk and returns its hash. */
  end(): string | undefined {
    this.take(Infinity);
    return this.off || this.bad ? undefined : this.hash.digest('hex');
  }

  /**
   * After end(), when no record followed the last cut, the hash of the chunk cut last, which then
   * runs to the end of the object: its hash at the cut (`cut`) when nothing follows, else the
   * SHA-256 of that hash and the bytes after the cut, which a scan resumed at the cut gets too.
   */
  extended(cut: string | undefined): string | undefined {
    if (this.since === 0) return cut;
    return this.tail?.digest('hex');
  }
}
