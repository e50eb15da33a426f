import { Type } from 'avsc';
import { CodecName, decompressBlock, isCodecName } from './codecs';
import { AvscTap, Internal, MAGIC, newTap, OLD_MAGIC, SYNC_SIZE } from './container';
import { setEntry } from './proto-fields';
import { ByteReader } from './byte-reader';
import { explainShortRecord } from './explain-decode';
import { ItemBudget, setItemBudget } from './guards';
import { isPrecisionLoss, losslessTypeOf } from './long';
import { DEFAULT_READ_LIMITS, ReadLimits } from './limits';
import { typeForSchema } from './type-cache';
import { SchemaWidthError } from './schema-depth';

/** Reading Avro object container files: header, blocks and records, with limits on hostile sizes. */

export class AvroFormatError extends Error {
  constructor(readonly object: string, readonly offset: number, reason: string) {
    super(`${object}: ${reason} (at byte ${offset})`);
    this.name = 'AvroFormatError';
  }
}

/** A valid file partflow cannot read: its schema is beyond what the Avro library can compile. */
export class UnsupportedAvroError extends Error {
  constructor(readonly object: string, reason: string) {
    super(`${object}: ${reason}`);
    this.name = 'UnsupportedAvroError';
  }
}

export interface ContainerHeader {
  schemaJson: string;
  writerType: Type;
  codec: CodecName;
  sync: Buffer;
  meta: Record<string, Buffer>;
  /** Offset of the first block. */
  headerSize: number;
}

export interface Block {
  /** Offset of the block's count varint in the object. */
  offset: number;
  /** Offset just past the block's sync marker. */
  end: number;
  count: number;
  data: Buffer;
  /** What decoding this block may spend; shared by the blocks of one object. */
  budget?: ItemBudget;
}

export interface OpenOptions {
  /** Name used in errors, e.g. the s3:// URL. */
  name: string;
  limits?: Partial<ReadLimits>;
}

/**
 * Reads an Avro object container file from a stream of chunks. Every length is checked
 * against the limits and against the data actually present; every error names the object and
 * byte offset.
 */
export class ContainerReader {
  readonly limits: ReadLimits;
  private r: ByteReader;
  header!: ContainerHeader;
  /** Bytes after the last complete block that do not form a block header (tolerated, reported). */
  trailingBytes = 0;
  blocksRead = 0;
  /** Zero-byte items are bounded per object: every block of this reader draws from this. */
  private readonly budget: ItemBudget;

  private constructor(private readonly source: AsyncIterable<Buffer | Uint8Array>, readonly opts: OpenOptions, startOffset = 0) {
    this.limits = { ...DEFAULT_READ_LIMITS, ...opts.limits };
    const { maxCollectionItems, maxZeroByteItems } = this.limits;
    this.budget = { maxCollectionItems, zeroByteItems: maxZeroByteItems, maxZeroByteItems };
    this.r = new ByteReader(source[Symbol.asyncIterator](), startOffset);
  }

  /** Stops reading and releases the underlying stream. */
  close(): void {
    (this.source as { destroy?: () => void }).destroy?.();
  }

  static async open(source: AsyncIterable<Buffer | Uint8Array>, opts: OpenOptions): Promise<ContainerReader> {
    const reader = new ContainerReader(source, opts);
    try {
      await reader.readHeader();
    } catch (err) {
      // An HTTP body left unread keeps its keep-alive socket checked out until the idle timeout:
      // enough corrupt inputs in a row would use up the agent's sockets and stall every request.
      reader.close();
      throw err;
    }
    return reader;
  }

  /** Continues reading blocks from `source`, which must start at a block boundary `offset` of an object whose header is known. */
  static resume(header: ContainerHeader, source: AsyncIterable<Buffer | Uint8Array>, offset: number, opts: OpenOptions): ContainerReader {
    const reader = new ContainerReader(source, opts, offset);
    reader.header = header;
    return reader;
  }

  private fail(reason: string, offset = this.r.offset): never {
    throw new AvroFormatError(this.opts.name, offset, reason);
  }

  private async long(what: string): Promise<number> {
    const at = this.r.offset;
    let v: number | bigint | null;
    try {
      v = await this.r.readLong();
    } catch (err) {
      this.fail(`${what}: ${(err as Error).message}`, at);
    }
    if (v === null) this.fail(`file is truncated: ${what} is cut off`, at);
    if (typeof v === 'bigint') this.fail(`${what} ${v} is over 2^53`, at);
    return v;
  }

  private async bytes(n: number, what: string): Promise<Buffer> {
    const at = this.r.offset;
    if (!(await this.r.ensure(n))) this.fail(`file is truncated: ${what} needs ${n} bytes, only ${this.r.available()} left`, at);
    return this.r.take(n);
  }

  private async readHeader(): Promise<void> {
    if (!(await this.r.ensure(4))) this.fail(`not an Avro object container file: only ${this.r.available()} bytes`, 0);
    const magic = this.r.take(4);
    if (magic.equals(OLD_MAGIC)) {
      this.fail('old Avro 1.2 container format (magic "Obj\\x00") is not supported; rewrite it with a current Avro tool', 0);
    }
    if (!magic.equals(MAGIC)) this.fail(`not an Avro object container file: bad magic bytes ${magic.toString('hex')}`, 0);
    const meta: Record<string, Buffer> = {};
    let metaBytes = 0;
    for (;;) {
      let n = await this.long('header metadata count');
      if (n === 0) break;
      if (n < 0) {
        n = -n;
        await this.long('header metadata block size');
      }
      for (let i = 0; i < n; i++) {
        const kl = await this.long('header metadata key length');
        if (kl < 0) this.fail(`header metadata key length ${kl} is invalid`);
        // The limit is on the whole header: name it, not the key that crossed it.
        if (kl + metaBytes > this.limits.maxHeaderBytes) this.fail(`header metadata is over the ${this.limits.maxHeaderBytes}-byte limit (${metaBytes} bytes in its first entries, then a key of ${kl})`);
        const key = (await this.bytes(kl, 'header metadata key')).toString('utf8');
        const vl = await this.long(`header metadata value length for "${key}"`);
        if (vl < 0 || vl + kl + metaBytes > this.limits.maxHeaderBytes) {
          this.fail(`header metadata value length ${vl} for "${key}" is invalid or over the ${this.limits.maxHeaderBytes}-byte limit`);
        }
        setEntry(meta, key, Buffer.from(await this.bytes(vl, `header metadata value "${key}"`)));
        metaBytes += kl + vl;
      }
    }
    const sync = Buffer.from(await this.bytes(SYNC_SIZE, 'header sync marker'));
    const schemaBuf = meta['avro.schema'];
    if (!schemaBuf) this.fail('header has no avro.schema', 4);
    const schemaJson = schemaBuf.toString('utf8');
    let writerType: Type;
    try {
      writerType = typeForSchema(schemaJson, { wrapUnions: 'auto' });
    } catch (err) {
      // Valid Avro, not corrupt: said as such, and the same on every attempt.
      if (err instanceof SchemaWidthError) throw new UnsupportedAvroError(this.opts.name, `header schema: ${err.message}`);
      // The depth check leaves room, but the stack the reader runs on is not all avsc's.
      const overflow = err instanceof RangeError && /call stack/i.test(err.message);
      this.fail(`header schema is invalid: ${overflow ? 'schema nested too deeply to compile' : (err as Error).message}`, 4);
    }
    const codecName = meta['avro.codec']?.toString('utf8') ?? 'null';
    if (!isCodecName(codecName)) this.fail(`unsupported codec "${codecName}" (supported: null, deflate, snappy, zstandard)`, 4);
    this.header = { schemaJson, writerType, codec: codecName, sync, meta, headerSize: this.r.offset };
  }

  /** Yields decompressed blocks in order; the source is released when this ends, fails or is left early. */
  async *blocks(): AsyncGenerator<Block> {
    try {
      yield* this.readBlocks();
    } finally {
      this.close();
    }
  }

  private async *readBlocks(): AsyncGenerator<Block> {
    for (;;) {
      const head = await this.blockHeader();
      if (!head) return;
      const { offset, count, size } = head;
      const raw = await this.bytes(size, `block of ${count} records`);
      await this.blockSync();
      let data: Buffer;
      try {
        data = await decompressBlock(this.header.codec, Buffer.from(raw), this.limits.maxBlockBytes);
      } catch (err) {
        this.fail((err as Error).message, offset);
      }
      this.blocksRead++;
      yield { offset, end: this.r.offset, count, data, budget: this.budget };
    }
  }

  /**
   * Where the blocks are, without their data: each block's header is read and checked as
   * blocks() does, its data skipped (not decompressed), and the sync marker after it compared.
   * A walk from the header is the only way to know where blocks start: the sync marker is in
   * the header for anyone to copy into a value, so a search for it can land inside a record.
   */
  async *blockBounds(): AsyncGenerator<{ offset: number; end: number; count: number }> {
    try {
      for (;;) {
        const head = await this.blockHeader();
        if (!head) return;
        const { offset, count, size } = head;
        const at = this.r.offset;
        if (!(await this.r.skip(size))) this.fail(`file is truncated: block of ${count} records needs ${size} bytes, only ${this.r.offset - at} left`, at);
        await this.blockSync();
        this.blocksRead++;
        yield { offset, end: this.r.offset, count };
      }
    } finally {
      this.close();
    }
  }

  /** The next block's record count and size, checked against the limits; null at the end (or before trailing bytes too few for a header). */
  private async blockHeader(): Promise<{ offset: number; count: number; size: number } | null> {
    const { maxBlockBytes, maxBlockRecords } = this.limits;
    const offset = this.r.offset;
    if (await this.r.atEnd()) return null;
    let count: number | bigint | null;
    let size: number | bigint | null;
    try {
      count = await this.r.readLong();
      size = count === null ? null : await this.r.readLong();
    } catch (err) {
      this.fail(`block header is corrupt: ${(err as Error).message}`, offset);
    }
    if (count === null || size === null) {
      // Fewer bytes than a block header: tolerated like other readers do, but counted.
      this.trailingBytes = this.r.offset - offset + this.r.available();
      return null;
    }
    if (count < 0 || count > maxBlockRecords) this.fail(`block record count ${count} is negative or over the limit of ${maxBlockRecords}`, offset);
    if (size < 0 || size > maxBlockBytes) this.fail(`block size ${size} is negative or over the ${maxBlockBytes}-byte limit`, offset);
    // Both are within their limits now, so they are numbers.
    return { offset, count: Number(count), size: Number(size) };
  }

  private async blockSync(): Promise<void> {
    const sync = await this.bytes(SYNC_SIZE, 'block sync marker');
    if (!sync.equals(this.header.sync)) this.fail('sync marker mismatch after block (corrupt or misaligned data)', this.r.offset - SYNC_SIZE);
  }

  /** Every record, in order, with its 0-based index; read with `readerType` if given (schema resolution). */
  async *records(readerType?: Type): AsyncGenerator<{ record: unknown; index: number }> {
    const decoder = blockDecoder(this.header.writerType, readerType);
    let index = 0;
    for await (const block of this.blocks()) {
      for (const record of decodeBlock(this.opts.name, block, decoder)) yield { record, index: index++ };
    }
  }
}

/**
 * Decodes the records of one block. Checks that exactly `count` records fill exactly the block.
 */
export function decodeBlock(name: string, block: Block, decode: BlockDecoder): unknown[] {
  const budget = block.budget ?? freshBudget();
  const prev = setItemBudget(budget);
  const before = budget.zeroByteItems;
  try {
    return decodeRecords(name, block, decode);
  } catch (err) {
    // Longs beyond ±2^53 cannot be JS numbers: decode this block again with bigints for them.
    if ((err as { precisionLoss?: boolean }).precisionLoss && decode.lossless) {
      budget.zeroByteItems = before;
      return decodeRecords(name, block, decode.lossless());
    }
    throw err;
  } finally {
    setItemBudget(prev);
  }
}

function freshBudget(): ItemBudget {
  const { maxCollectionItems, maxZeroByteItems } = DEFAULT_READ_LIMITS;
  return { maxCollectionItems, zeroByteItems: maxZeroByteItems, maxZeroByteItems };
}

function decodeRecords(name: string, block: Block, decode: BlockDecoder): unknown[] {
  const out: unknown[] = new Array(block.count);
  const tap = newTap(block.data, 0);
  for (let i = 0; i < block.count; i++) {
    let value: unknown;
    try {
      value = decode.read(tap);
    } catch (err) {
      if (isPrecisionLoss(err)) throw Object.assign(new AvroFormatError(name, block.offset, `record ${i} of block: ${(err as Error).message}`), { precisionLoss: true });
      // A bad length leaves the tap past the end, and what fails next (if anything) says little.
      const why = !(tap.pos <= block.data.length) && explainShortRecord(block.data, decode.read, i);
      throw new AvroFormatError(name, block.offset, `record ${i} of block: ${why || describeDecodeError(err)}`);
    }
    // Not `>`: a forged varint can make the position NaN, and avsc's isValid() counts that as past the end too.
    if (!(tap.pos <= block.data.length)) {
      const why = explainShortRecord(block.data, decode.read, i);
      throw new AvroFormatError(name, block.offset, `block declares ${block.count} records but its data ends inside record ${i}${why ? `: ${why}` : ''}`);
    }
    out[i] = value;
  }
  if (tap.pos !== block.data.length) {
    throw new AvroFormatError(name, block.offset, `block holds ${block.data.length - tap.pos} bytes after its ${block.count} declared records`);
  }
  return out;
}


export interface BlockDecoder {
  /** Reads one record at the tap's position and moves it on (past the end, if the data is short). */
  read(tap: AvscTap): unknown;
  /** The same decoder with lossless longs, for blocks that need it. */
  lossless?: () => BlockDecoder;
}

export function blockDecoder(writerType: Type, readerType?: Type, lossless = false): BlockDecoder {
  const w = lossless ? losslessTypeOf(writerType) : writerType;
  const r = readerType && (lossless ? losslessTypeOf(readerType) : readerType);
  let fallback: BlockDecoder | undefined;
  const more = lossless ? undefined : () => (fallback ??= blockDecoder(writerType, readerType, true));
  if (!r || r.equals(w)) {
    const t = w as unknown as Internal;
    return { read: (tap) => t._read(tap), lossless: more };
  }
  const resolver = r.createResolver(w) as unknown as Internal;
  return { read: (tap) => resolver._read(tap), lossless: more };
}

function describeDecodeError(err: unknown): string {
  if (err instanceof RangeError && /call stack/i.test(err.message)) return 'values are nested too deeply to decode';
  return (err as Error)?.message ?? String(err);
}

