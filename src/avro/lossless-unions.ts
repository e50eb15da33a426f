import avro, { ForSchemaOptions, Schema, Type } from 'avsc';
import { forSchema } from './proto-fields';

type UnionConstructor = new (types: Type[], opts: ForSchemaOptions) => Type;
const { WrappedUnionType, UnwrappedUnionType } = avro.types as unknown as Record<'WrappedUnionType' | 'UnwrappedUnionType', UnionConstructor>;

/**
 * avsc wraps a union (`{"long": 5}`) when two of its branches take the same kind of JS value,
 * such as `["long", "double"]`. Its rule does not see a long built with `__with` (partflow's
 * lossless long) as a number: left to itself it would leave `["long", "double"]` unwrapped there,
 * so a block read losslessly would give `5` where every other block gives `{"long": 5}`, and a
 * whole number within 2^53 would fit both branches and fail to encode ("ambiguous conversion").
 * This hook, for types built with `wrapUnions: 'auto'`, wraps exactly the unions the plain long
 * would: both copies of a schema then take and give the same values.
 */
export function sameUnionsAsPlainLong(schema: Schema, opts: ForSchemaOptions): Type | undefined {
  if (!Array.isArray(schema) || (opts as { wrapUnions?: unknown }).wrapUnions !== 'auto') return undefined;
  // Built once, here: building a branch again would define its named types twice. `opts` holds
  // this hook already; forSchema adds the record one again, which changes nothing.
  const types = schema.map((s) => forSchema(s, opts));
  return new (isAmbiguous(types) ? WrappedUnionType : UnwrappedUnionType)(types, opts);
}

/** avsc's own test (types.js, isAmbiguous), with an abstract long counted as the number it is. */
function isAmbiguous(types: Type[]): boolean {
  const seen = new Set<string>();
  for (const t of types) {
    if (Type.isType(t, 'logical')) continue;
    const b = bucket(t.typeName);
    if (seen.has(b)) return true;
    seen.add(b);
  }
  return false;
}

function bucket(typeName: string): string {
  switch (typeName) {
    case 'abstract:long': case 'int': case 'long': case 'float': case 'double': return 'number';
    case 'bytes': case 'fixed': return 'buffer';
    case 'enum': return 'string';
    case 'map': case 'error': case 'record': return 'object';
    default: return typeName;
  }
}
