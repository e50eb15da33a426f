import { Type } from 'avsc';
import { CollectionLimitError, installAvscGuards, ItemBudget, setItemBudget } from '../../avro/guards';
import { DEFAULT_READ_LIMITS } from '../../avro/limits';
import { losslessTypeOf } from '../../avro/long';
import { ValueError } from './values';

// The budget is charged by avsc's array reader as the guards replace it.
installAvscGuards();

/**
 * Whether values of `t` can hold array items that take no bytes (null, empty records, size-0
 * fixed): only those spend the per-object budget that reading the raw object enforces.
 */
export function hasZeroByteItems(t: Type, path = new Set<Type>()): boolean {
  if (path.has(t)) return true; // recursive: no cheap answer, so check
  path.add(t);
  const x = t as unknown as { typeName: string; fields?: { type: Type }[]; types?: Type[]; itemsType?: Type; valuesType?: Type; underlyingType?: Type };
  try {
    switch (x.typeName) {
      case 'array':
        return minBytes(x.itemsType!) === 0 || hasZeroByteItems(x.itemsType!, path);
      case 'map':
        return hasZeroByteItems(x.valuesType!, path);
      case 'record':
      case 'error':
        return x.fields!.some((f) => hasZeroByteItems(f.type, path));
      case 'union:wrapped':
      case 'union:unwrapped':
        return x.types!.some((u) => hasZeroByteItems(u, path));
      default:
        return x.underlyingType ? hasZeroByteItems(x.underlyingType, path) : false;
    }
  } finally {
    path.delete(t);
  }
}

function minBytes(t: Type, path = new Set<Type>()): number {
  const x = t as unknown as { typeName: string; fields?: { type: Type }[]; size?: number; underlyingType?: Type };
  if (path.has(t)) return 1;
  if (x.typeName === 'null') return 0;
  if (x.typeName === 'fixed') return x.size!;
  if (x.typeName === 'record' || x.typeName === 'error') {
    path.add(t);
    const n = x.fields!.reduce((k, f) => k + minBytes(f.type, path), 0);
    path.delete(t);
    return n;
  }
  if (x.underlyingType) return minBytes(x.underlyingType, path);
  return 1;
}

/**
 * The zero-byte array items one raw object may hold (PARTFLOW_MAX_ZERO_BYTE_ITEMS, as its reader
 * enforces), spent by the values written to it. A value that would go over becomes a reject: the
 * object must stay readable. `spent` is what earlier values (also of earlier attempts) took.
 */
export class ZeroByteBudget {
  private readonly budget: ItemBudget;

  constructor(spent = 0, readonly max = DEFAULT_READ_LIMITS.maxZeroByteItems) {
    this.budget = { maxCollectionItems: DEFAULT_READ_LIMITS.maxCollectionItems, zeroByteItems: max - spent, maxZeroByteItems: max };
  }

  get spent(): number {
    return this.max - this.budget.zeroByteItems;
  }

  /**
   * Charges `value` as its re-encoding under `type` (what the raw object holds) decodes: a
   * writer schema resolved to the reader schema can turn items that took bytes into items that take none.
   */
  charge(type: Type, value: unknown): void {
    const left = this.budget.zeroByteItems;
    const prev = setItemBudget(this.budget);
    try {
      const t = losslessTypeOf(type);
      t.fromBuffer(t.toBuffer(value));
    } catch (err) {
      this.budget.zeroByteItems = left;
      if (err instanceof CollectionLimitError) throw new ValueError(`${err.message.replace(/ per object$/, ' per raw object')} (PARTFLOW_MAX_ZERO_BYTE_ITEMS): partflow could not read the raw object back`);
      throw err;
    } finally {
      setItemBudget(prev);
    }
  }
}
