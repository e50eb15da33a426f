import type { AvscTap } from './container';

/**
 * Why a record ran past the end of its block. avsc does not check string and bytes lengths: a
 * negative one just marks the tap invalid and a huge one moves it past the end, so all the record
 * loop sees is data ending inside a record. Checking every length as it is read would cost the hot
 * path; instead, once a block has failed, its records are decoded again with a tap that checks,
 * which names the length that was wrong.
 */

type TapClass = new (buf: Buffer, pos: number) => AvscTap & {
  readLong(): number;
  readString(): string;
  readBytes(): Buffer;
  skipString(): void;
  skipBytes(): void;
};
const { Tap } = require('avsc/lib/utils') as { Tap: TapClass };

class LengthError extends Error {}

class CheckingTap extends Tap {
  readString(): string {
    this.checkLength('string');
    return super.readString();
  }

  readBytes(): Buffer {
    this.checkLength('bytes');
    return super.readBytes();
  }

  skipString(): void {
    this.checkLength('string');
    super.skipString();
  }

  skipBytes(): void {
    this.checkLength('bytes');
    super.skipBytes();
  }

  /** Reads the length at the position and puts the position back, for the real read to follow. */
  private checkLength(kind: string): void {
    const at = this.pos;
    const len = this.readLong();
    const left = this.buf.length - this.pos;
    this.pos = at;
    if (left < 0) return; // the data ends before the length does: nothing more to say
    if (len < 0) throw new LengthError(`${kind} length ${len} at offset ${at} of the block is negative`);
    if (len > left) throw new LengthError(`${kind} length ${len} at offset ${at} of the block runs past its end (${left} bytes left)`);
  }
}

/**
 * Decodes `data` again up to record `index` with lengths checked; the reason record `index` ran
 * past the end, or undefined if no length explains it.
 */
export function explainShortRecord(data: Buffer, read: (tap: AvscTap) => unknown, index: number): string | undefined {
  const tap = new CheckingTap(data, 0);
  try {
    for (let i = 0; i <= index; i++) read(tap);
  } catch (err) {
    if (err instanceof LengthError) return err.message;
  }
  return undefined;
}
