import avro, { Type } from 'avsc';
import { createHash } from 'node:crypto';
import { CodecName, compressBlock } from './codecs';
import { installAvscGuards } from './guards';
import { losslessTypeOf } from './long';
import { forSchema, setEntry } from './proto-fields';
import { installFastStringWrite } from './string-write';

/**
 * avsc's cursor over a buffer. Type.decode and Type.encode make a new one, and decode a result
 * object too, for every record: 120 bytes of garbage a record that the scavenger must sweep.
 * The record loops keep one instead and call the types' `_read`/`_write`, as avsc's own
 * container streams do (the guards in guards.ts already rely on the same internals).
 */
export interface AvscTap { buf: Buffer; pos: number }
type TapClass = new (buf: Buffer, pos: number) => AvscTap;
const { Tap } = require('avsc/lib/utils') as { Tap: TapClass };
export function newTap(buf: Buffer, pos: number): AvscTap {
  return new Tap(buf, pos);
}
export type Internal = { _read(tap: AvscTap): unknown; _write(tap: AvscTap, value: unknown): void };

installAvscGuards();
installFastStringWrite();

export const MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x01]); // "Obj" 1
export const OLD_MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x00]); // Avro 1.2 and earlier
export const SYNC_SIZE = 16;
export const META_TYPE = forSchema({ type: 'map', values: 'bytes' });
const LONG_TYPE = forSchema('long');

/** The 16-byte sync marker for an output, derived from its identity so that output bytes are reproducible. */
export function syncMarkerFor(identity: string): Buffer {
  return createHash('sha256').update('partflow-sync\0').update(identity).digest().subarray(0, SYNC_SIZE);
}

export function encodeHeader(schemaJson: string, codec: CodecName, sync: Buffer, extraMeta: Record<string, string> = {}): Buffer {
  // Insertion order is kept by avsc's map encoding, so the header bytes are stable.
  const meta: Record<string, Buffer> = { 'avro.schema': Buffer.from(schemaJson), 'avro.codec': Buffer.from(codec) };
  for (const k of Object.keys(extraMeta).sort()) setEntry(meta, k, Buffer.from(extraMeta[k]));
  return Buffer.concat([MAGIC, META_TYPE.toBuffer(meta), sync]);
}

export interface EncoderOptions {
  codec: CodecName;
  sync: Buffer;
  /** A block is closed once its uncompressed size reaches this. Java's default sync interval is 64000. */
  blockBytes?: number;
  meta?: Record<string, string>;
}

/**
 * Encodes records into Avro object container bytes. Blocks close at a size that depends only
 * on the records, so the same records always give the same bytes.
 */
export class ContainerEncoder {
  private buf: Buffer;
  private pos = 0;
  private count = 0;
  private readonly tap: AvscTap;
  readonly blockBytes: number;
  recordsWritten = 0;

  constructor(readonly type: Type, readonly schemaJson: string, readonly opts: EncoderOptions) {
    this.blockBytes = opts.blockBytes ?? 64_000;
    this.buf = Buffer.allocUnsafe(Math.max(this.blockBytes * 2, 1024));
    this.tap = newTap(this.buf, 0);
  }

  /** Type.encode without its new Tap per record: the end position, or minus the bytes missing. */
  private encode(type: Type, record: unknown): number {
    const tap = this.tap;
    tap.buf = this.buf;
    tap.pos = this.pos;
    (type as unknown as Internal)._write(tap, record);
    return tap.pos <= this.buf.length ? tap.pos : this.buf.length - tap.pos;
  }

  header(): Buffer {
    return encodeHeader(this.schemaJson, this.opts.codec, this.opts.sync, this.opts.meta);
  }

  /** Adds a record; returns a finished block when the current one is full. Throws if the record is invalid. */
  add(record: unknown): Buffer | null {
    let type = this.type;
    for (;;) {
      let end: number;
      try {
        end = this.encode(type, record);
      } catch (err) {
        // A bigint beyond 2^53 (read losslessly) is valid data: encode it with the lossless long.
        if (type !== this.type) throw err;
        type = losslessTypeOf(this.type);
        try {
          end = this.encode(type, record);
        } catch {
          throw err;
        }
      }
      if (end >= 0) {
        this.pos = end;
        break;
      }
      // Negative: the buffer was too small by -end bytes.
      const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos - end + 1024));
      this.buf.copy(grown, 0, 0, this.pos);
      this.buf = grown;
    }
    this.count++;
    this.recordsWritten++;
    return this.pos >= this.blockBytes ? this.flush() : null;
  }

  /** Closes the current block, if it holds any record. */
  flush(): Buffer | null {
    if (this.count === 0) return null;
    const data = compressBlock(this.opts.codec, this.buf.subarray(0, this.pos));
    const out = Buffer.concat([LONG_TYPE.toBuffer(this.count), LONG_TYPE.toBuffer(data.length), data, this.opts.sync]);
    this.count = 0;
    this.pos = 0;
    return out;
  }

  get pendingRecords(): number {
    return this.count;
  }

  /** The records of the open block, encoded, so that a checkpoint can carry them. */
  snapshot(): EncoderSnapshot {
    return { block: this.buf.subarray(0, this.pos).toString('base64'), count: this.count, recordsWritten: this.recordsWritten };
  }

  restore(s: EncoderSnapshot): void {
    const block = Buffer.from(s.block, 'base64');
    if (block.length > this.buf.length) this.buf = Buffer.allocUnsafe(block.length * 2);
    block.copy(this.buf, 0);
    this.pos = block.length;
    this.count = s.count;
    this.recordsWritten = s.recordsWritten;
  }
}

export interface EncoderSnapshot {
  block: string;
  count: number;
  recordsWritten: number;
}

export { avro };
