import { SYNC_SIZE } from './container';
import { ContainerReader } from './container-reader';
import { ReadLimits } from './limits';

/**
 * Where the pieces of a split Avro object really start: found by walking its blocks from the
 * header (each block's count and size, its data skipped, the sync marker after it checked).
 *
 * A piece cannot find its first block by itself. Hadoop's and Spark's Avro splits start at the
 * first sync marker at or after the split's start, but the marker is in the header for anyone to
 * read: a value can hold those 16 bytes followed by bytes that parse as a block, and a reader
 * that starts there reads records the file does not hold, or skips ones it does. Only a walk
 * from the header tells a real block start from a forged one.
 */
export interface BlockWalk {
  /** Per piece: the bytes [start, end) of the blocks that start in its nominal range (end: the next piece's start; the object's size for the last). */
  blocks: [number, number][];
  /**
   * Per piece: whether the sync-marker search that readers did before the walk starts it
   * elsewhere (a copy of the marker inside a value), so that outputs read that way are wrong.
   */
  resynced: boolean[];
}

export interface WalkOptions {
  name: string;
  limits?: Partial<ReadLimits>;
  /** Called as the walk goes on, with the offset reached (for heartbeats). */
  onProgress?: (offset: number) => void;
}

/**
 * Walks the blocks of the Avro object whose bytes `source` streams from offset 0, for the pieces
 * with the nominal byte ranges `ranges` (splitRanges: sorted, adjacent, the first from 0, the
 * last to `size`). A corrupt or truncated object fails with an AvroFormatError naming the byte.
 */
export async function walkBlocks(source: AsyncIterable<Buffer | Uint8Array>, size: number, ranges: [number, number][], opts: WalkOptions): Promise<BlockWalk> {
  const starts = ranges.map((r) => r[0]);
  const search = new SyncSearch(starts);
  const reader = await ContainerReader.open(tapped(source, search), { name: opts.name, limits: opts.limits });
  const headerSize = reader.header.headerSize;
  search.begin(reader.header.sync);
  // exact[k]: the first block start at or after starts[k] (a block's end is the next one's start).
  const exact: number[] = [];
  const reach = (blockStart: number) => {
    while (exact.length < starts.length && starts[exact.length] <= blockStart) exact.push(blockStart);
  };
  reach(headerSize);
  for await (const b of reader.blockBounds()) {
    reach(b.end);
    opts.onProgress?.(b.end);
  }
  // Trailing bytes too few for a block header (tolerated, as readers do) belong to the last piece to start.
  while (exact.length < starts.length) exact.push(size);
  const blocks = exact.map((s, k): [number, number] => [s, k + 1 < exact.length ? exact[k + 1] : size]);
  const resynced = blocks.map(([s, e], k) => {
    // Before the walk, a piece that starts inside the header was read from the header.
    const old = starts[k] <= headerSize ? headerSize : search.found[k];
    const oldEmpty = old === undefined || old >= ranges[k][1];
    return old !== s && !(oldEmpty && s >= e);
  });
  return { blocks, resynced };
}

/** Passes every chunk of `source` on to the search first, with its offset. */
function tapped(source: AsyncIterable<Buffer | Uint8Array>, search: SyncSearch): AsyncIterable<Buffer> & { destroy(): void } {
  async function* gen() {
    let offset = 0;
    for await (const c of source) {
      const chunk = Buffer.isBuffer(c) ? c : Buffer.from(c);
      search.feed(chunk, offset);
      offset += chunk.length;
      yield chunk;
    }
  }
  return Object.assign(gen(), { destroy: () => (source as { destroy?: () => void }).destroy?.() });
}

/**
 * Where the sync-marker search of readers before the walk started each piece: just past the first
 * copy of the marker at or after (start - 16). It looks only from each piece's start to that
 * first copy (about one block a piece), not at every byte.
 */
class SyncSearch {
  /** Per piece: the offset the old search started it at; undefined when it found no marker. */
  readonly found: (number | undefined)[] = [];
  private sync: Buffer | null = null;
  private pending: { chunk: Buffer; offset: number }[] = [];
  /** The last bytes before the next chunk (a marker may straddle two chunks), and their offset. */
  private tail = Buffer.alloc(0);
  private tailAt = 0;
  private k = 1;

  constructor(private readonly starts: number[]) {}

  /** The marker is known once the header is read; chunks that came before are searched now. */
  begin(sync: Buffer): void {
    this.sync = sync;
    const pending = this.pending;
    this.pending = [];
    for (const p of pending) this.feed(p.chunk, p.offset);
  }

  feed(chunk: Buffer, offset: number): void {
    if (!this.sync) {
      this.pending.push({ chunk, offset });
      return;
    }
    const sync = this.sync;
    while (this.k < this.starts.length) {
      const from = this.starts[this.k] - SYNC_SIZE;
      if (offset + chunk.length <= from) break;
      let at = -1;
      if (this.tail.length && from < offset) {
        const straddle = Buffer.concat([this.tail, chunk.subarray(0, SYNC_SIZE - 1)]);
        const i = straddle.indexOf(sync, Math.max(0, from - this.tailAt));
        if (i >= 0) at = this.tailAt + i;
      }
      if (at < 0) {
        const i = chunk.indexOf(sync, Math.max(0, from - offset));
        if (i >= 0) at = offset + i;
      }
      if (at < 0) break;
      this.found[this.k++] = at + SYNC_SIZE;
    }
    const joined = this.tail.length ? Buffer.concat([this.tail, chunk.subarray(Math.max(0, chunk.length - (SYNC_SIZE - 1)))]) : chunk;
    const keep = Math.min(joined.length, SYNC_SIZE - 1);
    this.tail = Buffer.from(joined.subarray(joined.length - keep));
    this.tailAt = offset + chunk.length - keep;
  }
}
