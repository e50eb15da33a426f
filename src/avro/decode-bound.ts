/**
 * An upper bound on the heap that decoding one block can take, from its schema, its byte count
 * and its declared record count, so that the decode guard (decode-guard.ts) can skip the blocks
 * that provably cannot exhaust a worker: its second decode was most of a worker's CPU on big
 * partitions.
 *
 * Every value avsc decodes either consumes at least one byte or has a fixed, schema-given shape
 * (null, records of such, size-0 fixed). So a value of type T that takes b bytes allocates at most
 * A(T) + R(T) * b bytes of heap, with A and R computed once per schema (`affine`). A block of c
 * records in n bytes then takes at most c * (A + SLOT) + R * n, SLOT being its place in the
 * block's array of records.
 *
 * Where that argument does not hold there is no bound, and the guard checks the block:
 * - arrays of items that take no bytes, bounded only by a per-object item count;
 * - maps: integer-like keys make V8 allocate array storage up to the key's value;
 * - recursive schemas;
 * - reading through a different reader schema (defaults allocate per record);
 * - any type this module does not know.
 */
import { Type } from 'avsc';

/**
 * Blocks whose bound is at most this are decoded without the guard. A worker decodes one block
 * per running partition at a time, so the worst case is this times its concurrency
 * (PARTFLOW_WORKER_CONCURRENCY): 256 MiB at the default 8.
 */
export const UNGUARDED_BLOCK_HEAP = 32 * 1024 * 1024;

interface Affine {
  /** Heap per value, whatever its size. */
  a: number;
  /** Heap per byte the value takes. */
  r: number;
  /** The fewest bytes a value takes. */
  min: number;
}

// Upper bounds for V8 on 64-bit without pointer compression, with headroom: 3x for objects and
// their slots (measured within 2x of the worst cases in test/unit/decode-bound.test.ts), 2x for
// the rest (measured within 5x).
const OBJECT = 3 * 32;
const SLOT = 3 * 8;
const BOXED = 2 * 32; // a heap number or BigInt
const STRING = 2 * 32;
const BUFFER = 2 * 256; // a Buffer view and its backing store's bookkeeping

const cache = new WeakMap<Type, Affine | null>();

function affineOf(t: Type, path: Set<Type>): Affine | null {
  if (path.has(t)) return null; // recursive
  const x = t as unknown as { typeName: string; fields?: { type: Type }[]; types?: Type[]; itemsType?: Type; valuesType?: Type; size?: number };
  switch (x.typeName) {
    case 'null':
      return { a: 0, r: 0, min: 0 };
    case 'boolean':
    case 'int':
    case 'enum':
      return { a: 0, r: 0, min: 1 };
    case 'long':
    case 'float':
    case 'double':
      return { a: BOXED, r: 0, min: x.typeName === 'double' ? 8 : x.typeName === 'float' ? 4 : 1 };
    case 'string':
      return { a: STRING, r: 2 * 2, min: 1 }; // two-byte strings: 2 bytes per char, at most a char per byte
    case 'bytes':
      return { a: BUFFER, r: 2, min: 1 };
    case 'fixed':
      return { a: BUFFER, r: 2, min: x.size ?? 0 };
  }
  path.add(t);
  try {
    switch (x.typeName) {
      case 'record':
      case 'error': {
        const out = { a: OBJECT + SLOT * x.fields!.length, r: 0, min: 0 };
        for (const f of x.fields!) {
          const fa = affineOf(f.type, path);
          if (!fa) return null;
          out.a += fa.a;
          out.r = Math.max(out.r, fa.r);
          out.min += fa.min;
        }
        return out;
      }
      case 'union:unwrapped':
      case 'union:wrapped': {
        const out = { a: 0, r: 0, min: Infinity };
        for (const b of x.types!) {
          const ba = affineOf(b, path);
          if (!ba) return null;
          out.a = Math.max(out.a, ba.a);
          out.r = Math.max(out.r, ba.r);
          out.min = Math.min(out.min, ba.min);
        }
        // A wrapped branch is an object around the value; the branch index takes a byte.
        return { a: out.a + OBJECT + SLOT, r: out.r, min: out.min + 1 };
      }
      case 'array': {
        const item = affineOf(x.itemsType!, path);
        // An array item of no bytes is not bounded by the bytes.
        if (!item || item.min < 1) return null;
        // Each item takes at least a byte, so its fixed cost is at most that much per byte.
        return { a: OBJECT, r: item.r + item.a + SLOT, min: 1 };
      }
      // No map: a key such as "2575" makes V8 give the object an array backing store thousands
      // of slots long, from a few bytes (found in review: 20x over a per-key charge).
      default:
        return null;
    }
  } finally {
    path.delete(t);
  }
}

function affine(t: Type): Affine | null {
  let a = cache.get(t);
  if (a === undefined) cache.set(t, (a = affineOf(t, new Set())));
  return a;
}

/**
 * The most heap decoding `count` records from `bytes` bytes of `writer` can take, or undefined
 * when no bound is known (see the module comment).
 */
export function blockHeapBound(writer: Type, reader: Type | undefined, count: number, bytes: number): number | undefined {
  if (reader && reader !== writer && !reader.equals(writer)) return undefined;
  const a = affine(writer);
  if (!a) return undefined;
  return count * (a.a + SLOT) + a.r * bytes;
}
