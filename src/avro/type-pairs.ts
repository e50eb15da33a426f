import { Type, types } from 'avsc';

/** Helpers for walking a writer type and a reader type side by side, as Avro resolution does. */

/** The type under a logical type (partflow registers none, but avsc may wrap one). */
export function plain(t: Type): Type {
  return t instanceof types.LogicalType ? t.underlyingType : t;
}

export function isUnion(t: Type): t is types.UnwrappedUnionType | types.WrappedUnionType {
  return t instanceof types.UnwrappedUnionType || t instanceof types.WrappedUnionType;
}

/** The reader branch Avro resolves a writer branch to: the same named type, else the same kind. */
export function branchFor(w: Type, readers: Type[]): Type | undefined {
  const name = w.name;
  if (name) {
    const named = readers.find((r) => r.name === name || (r.aliases ?? []).includes(name));
    if (named) return named;
  }
  return readers.find((r) => plain(r).typeName === w.typeName);
}
