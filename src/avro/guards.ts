import avro from 'avsc';
import { isUtf8 } from 'node:buffer';
import { DEFAULT_READ_LIMITS } from './limits';

/**
 * avsc trusts array and map counts: a forged count makes it allocate and loop far past the
 * end of the buffer. These replacements stop at the end of the data and cap item counts.
 * They are installed once, for every avsc type in the process.
 */
export class CollectionLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CollectionLimitError';
  }
}

interface Tap {
  buf: Buffer;
  pos: number;
  readLong(): number;
  skipLong(): void;
  readString(): string;
  isValid(): boolean;
}
interface ItemType {
  _read(tap: Tap): unknown;
  _skip(tap: Tap): void;
}

let installed = false;

export function installAvscGuards(limit = DEFAULT_READ_LIMITS.maxCollectionItems): void {
  if (installed) return;
  installed = true;
  const types = (avro as unknown as { types: Record<string, { prototype: Record<string, unknown> }> }).types;

  function readCount(tap: Tap, sofar: number): number {
    let n = tap.readLong();
    if (n < 0) {
      n = -n;
      tap.skipLong();
    }
    if (!tap.isValid()) return 0;
    if (sofar + n > limit) {
      throw new CollectionLimitError(`collection of ${sofar + n} items exceeds the limit of ${limit}`);
    }
    return n;
  }

  // Avro strings are UTF-8. avsc would turn invalid bytes into U+FFFD without a word; a data
  // pipeline must not silently change data, so invalid UTF-8 is an error.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { Tap } = require('avsc/lib/utils') as { Tap: { prototype: Tap & { _invalidate(): void } } };
  Tap.prototype.readString = function (this: Tap & { _invalidate(): void }) {
    const len = this.readLong();
    if (len < 0) {
      this._invalidate();
      return '';
    }
    const pos = this.pos;
    this.pos += len;
    if (this.pos > this.buf.length) return undefined as unknown as string;
    const bytes = this.buf.subarray(pos, pos + len);
    if (!isUtf8(bytes)) throw new Error(`string of ${len} bytes at offset ${pos} of the block is not valid UTF-8`);
    return bytes.toString('utf8');
  };

  types.ArrayType.prototype._read = function (this: { itemsType: ItemType }, tap: Tap) {
    const items = this.itemsType;
    const val: unknown[] = [];
    let n: number;
    while ((n = readCount(tap, val.length))) {
      while (n--) {
        val.push(items._read(tap));
        if (!tap.isValid()) return val;
      }
    }
    return val;
  };

  types.MapType.prototype._read = function (this: { valuesType: ItemType }, tap: Tap) {
    const values = this.valuesType;
    const val: Record<string, unknown> = {};
    let count = 0;
    let n: number;
    while ((n = readCount(tap, count))) {
      count += n;
      while (n--) {
        const key = tap.readString();
        val[key] = values._read(tap);
        if (!tap.isValid()) return val;
      }
    }
    return val;
  };

  // Skipping (a field the reader schema drops) must be bounded in the same way.
  function skipCollection(tap: Tap, skipItem: (tap: Tap) => void): void {
    let count = 0;
    for (;;) {
      let n = tap.readLong();
      if (!tap.isValid() || n === 0) return;
      if (n < 0) {
        const size = tap.readLong();
        tap.pos += size;
        count += -n;
        if (count > limit) throw new CollectionLimitError(`collection of ${count} items exceeds the limit of ${limit}`);
        continue;
      }
      count += n;
      if (count > limit) throw new CollectionLimitError(`collection of ${count} items exceeds the limit of ${limit}`);
      while (n--) {
        skipItem(tap);
        if (!tap.isValid()) return;
      }
    }
  }
  types.ArrayType.prototype._skip = function (this: { itemsType: ItemType }, tap: Tap) {
    const items = this.itemsType;
    skipCollection(tap, (t) => items._skip(t));
  };
  types.MapType.prototype._skip = function (this: { valuesType: ItemType }, tap: Tap) {
    const values = this.valuesType;
    skipCollection(tap, (t) => {
      t.pos += t.readLong();
      values._skip(t);
    });
  };
}
