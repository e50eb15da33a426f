import avro from 'avsc';
import { isUtf8 } from 'node:buffer';
import { DEFAULT_READ_LIMITS } from './limits';
import { installVarintGuards } from './varint';

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

/**
 * What decoding may still spend. The container reader installs its object's budget around each
 * block it decodes (decoding is synchronous, so one module-level budget is safe); anything else
 * decoded with avsc gets the per-collection limit only.
 */
export interface ItemBudget {
  /** Most items in one array or map. */
  maxCollectionItems: number;
  /**
   * Collection items not backed by a byte of block data: items of types that take no bytes
   * (null, empty records, size-0 fixed, and records of those). Every other item takes at least
   * one byte, so the block's size bounds them; these would otherwise be free to forge.
   */
  zeroByteItems: number;
  /** The limit zeroByteItems started from, for messages. */
  readonly maxZeroByteItems: number;
}

// Outside a container reader's blocks: the process's collection limit, read on first use (not as
// this module loads, which a bad PARTFLOW_MAX_COLLECTION_ITEMS would turn into a crash of the CLI).
let budget: ItemBudget = {
  get maxCollectionItems() { return DEFAULT_READ_LIMITS.maxCollectionItems; },
  zeroByteItems: Infinity, maxZeroByteItems: Infinity,
};

/** Makes `b` the budget of the decoding that follows; returns the one it replaces. */
export function setItemBudget(b: ItemBudget): ItemBudget {
  const prev = budget;
  budget = b;
  return prev;
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

export function installAvscGuards(limit?: number): void {
  if (installed) return;
  installed = true;
  const types = (avro as unknown as { types: Record<string, { prototype: Record<string, unknown> }> }).types;

  if (limit !== undefined) budget = { maxCollectionItems: limit, zeroByteItems: Infinity, maxZeroByteItems: Infinity };

  function readCount(tap: Tap, sofar: number): number {
    let n = tap.readLong();
    if (n < 0) {
      n = -n;
      tap.skipLong();
    }
    if (!tap.isValid()) return 0;
    checkRun(tap, sofar, n);
    return n;
  }

  // Once per run of items (each count in the data), never per item: the decode path is hot.
  function checkRun(tap: Tap, sofar: number, n: number): void {
    const b = budget;
    if (sofar + n > b.maxCollectionItems) {
      throw new CollectionLimitError(`collection of ${sofar + n} items exceeds the limit of ${b.maxCollectionItems}`);
    }
    const left = tap.buf.length - tap.pos;
    if (n > left + b.zeroByteItems) throw zeroByteError(`a collection declares ${n} items with ${left} bytes left in the block`, b);
  }

  /** Charges the items of a run that took no bytes (the run read `n` items from `start`). */
  function charge(tap: Tap, start: number, n: number): void {
    const free = n - (tap.pos - start);
    if (free > 0 && (budget.zeroByteItems -= free) < 0) throw zeroByteError(`a collection holds ${n} items in ${tap.pos - start} bytes`, budget);
  }

  function zeroByteError(what: string, b: ItemBudget): CollectionLimitError {
    return new CollectionLimitError(
      `${what}: more items that take no bytes (null, empty records, size-0 fixed) than the ${b.maxZeroByteItems} allowed per object`,
    );
  }

  // Avro strings are UTF-8. avsc would turn invalid bytes into U+FFFD without a word; a data
  // pipeline must not silently change data, so invalid UTF-8 is an error.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { Tap } = require('avsc/lib/utils') as { Tap: { prototype: Tap & { _invalidate(): void } } };
  installVarintGuards(Tap.prototype as unknown as Record<string, unknown>);
  Tap.prototype.readString = function (this: Tap & { _invalidate(): void }) {
    const len = this.readLong();
    if (len < 0) {
      this._invalidate();
      return '';
    }
    const pos = this.pos;
    this.pos += len;
    if (this.pos > this.buf.length) return undefined as unknown as string;
    // Decoding replaces every invalid sequence with U+FFFD, so only strings holding one need the
    // strict check; a view and a check per string cost as much as decoding it (hot path).
    const str = (this.buf as Buffer & { utf8Slice(s: number, e: number): string }).utf8Slice(pos, this.pos);
    if (str.includes('\uFFFD') && !isUtf8(this.buf.subarray(pos, this.pos))) {
      throw new Error(`string of ${len} bytes at offset ${pos} of the block is not valid UTF-8`);
    }
    return str;
  };

  // A boolean is one byte, 0 or 1. Readers disagree on any other (avsc and fastavro read true,
  // Java false), so there is no value to commit: such data is corrupt.
  (Tap.prototype as unknown as { readBoolean(this: Tap): boolean }).readBoolean = function (this: Tap) {
    const b = this.buf[this.pos++];
    if (b > 1) throw new Error(`boolean byte ${b} at offset ${this.pos - 1} of the block: a boolean is 0 or 1`);
    return b === 1;
  };

  types.ArrayType.prototype._read = function (this: { itemsType: ItemType }, tap: Tap) {
    const items = this.itemsType;
    const val: unknown[] = [];
    let n: number;
    while ((n = readCount(tap, val.length))) {
      const start = tap.pos;
      for (let i = 0; i < n; i++) {
        val.push(items._read(tap));
        if (!tap.isValid()) return val;
      }
      charge(tap, start, n);
    }
    return val;
  };

  // Every map entry takes a byte (its key's length), so maps need no charge for free items.
  types.MapType.prototype._read = function (this: { valuesType: ItemType }, tap: Tap) {
    const values = this.valuesType;
    const val: Record<string, unknown> = {};
    let count = 0;
    let n: number;
    while ((n = readCount(tap, count))) {
      count += n;
      while (n--) {
        const key = tap.readString();
        // Assigning "__proto__" would set the object's prototype and lose the entry.
        if (key === '__proto__') defineEntry(val, key, values._read(tap));
        else val[key] = values._read(tap);
        if (!tap.isValid()) return val;
      }
    }
    return val;
  };

  // Skipping (a field the reader schema drops) must be bounded in the same way.
  function skipCollection(tap: Tap, items: ItemType, isMap: boolean): void {
    let count = 0;
    for (;;) {
      let n = tap.readLong();
      if (!tap.isValid() || n === 0) return;
      if (n < 0) {
        const size = tap.readLong();
        // A negative size would move backwards and read the same counts again and again.
        if (size < 0) {
          tap.pos = tap.buf.length + 1;
          return;
        }
        tap.pos += size;
        count += -n;
        if (count > budget.maxCollectionItems) throw new CollectionLimitError(`collection of ${count} items exceeds the limit of ${budget.maxCollectionItems}`);
        continue;
      }
      checkRun(tap, count, n);
      count += n;
      const start = tap.pos;
      for (let i = 0; i < n; i++) {
        if (isMap) {
          const keyLength = tap.readLong();
          if (keyLength < 0) {
            tap.pos = tap.buf.length + 1;
            return;
          }
          tap.pos += keyLength;
        }
        items._skip(tap);
        if (!tap.isValid()) return;
      }
      charge(tap, start, n);
    }
  }
  types.ArrayType.prototype._skip = function (this: { itemsType: ItemType }, tap: Tap) {
    skipCollection(tap, this.itemsType, false);
  };
  types.MapType.prototype._skip = function (this: { valuesType: ItemType }, tap: Tap) {
    skipCollection(tap, this.valuesType, true);
  };
}

function defineEntry(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}
