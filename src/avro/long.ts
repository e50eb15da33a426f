import avro, { Type } from 'avsc';
import { forSchema } from './proto-fields';
import { sameUnionsAsPlainLong } from './lossless-unions';
import { fullSchema } from './schema-export';

const MIN = BigInt(Number.MIN_SAFE_INTEGER);
const MAX = BigInt(Number.MAX_SAFE_INTEGER);
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

/**
 * A long that never loses precision: values within ±2^53 are numbers (as usual), larger ones
 * bigints. It is slower than avsc's own long, so partflow uses it only for the blocks and records
 * that need it; the encoded bytes are the same either way.
 */
export const LOSSLESS_LONG = (avro.types.LongType as unknown as { __with(m: object): Type }).__with({
  fromBuffer: (buf: Buffer) => {
    const n = buf.readBigInt64LE();
    return n >= MIN && n <= MAX ? Number(n) : n;
  },
  toBuffer: (n: number | bigint) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(BigInt(n));
    return buf;
  },
  fromJSON: (x: unknown) => (typeof x === 'string' ? BigInt(x) : x),
  toJSON: (n: number | bigint) => (typeof n === 'bigint' ? n.toString() : n),
  isValid: (n: unknown) => (typeof n === 'bigint' ? n >= LONG_MIN && n <= LONG_MAX : Number.isSafeInteger(n)),
  compare: (a: number | bigint, b: number | bigint) => (a < b ? -1 : a > b ? 1 : 0),
});

const cache = new WeakMap<Type, Type>();

/** The same schema with lossless longs. */
export function losslessTypeOf(type: Type): Type {
  let t = cache.get(type);
  if (!t) {
    // fullSchema: a copy that lost enum defaults could not read what `type` reads through them.
    // sameUnionsAsPlainLong: the copy wraps the unions `type` wraps, so both take the same values.
    t = forSchema(fullSchema(type) as never, { registry: { long: LOSSLESS_LONG } as never, wrapUnions: 'auto', typeHook: sameUnionsAsPlainLong as never });
    cache.set(type, t);
  }
  return t;
}

export function isPrecisionLoss(err: unknown): boolean {
  return /potential precision loss/.test((err as Error)?.message ?? '');
}
