import { Type } from 'avsc';

/**
 * A type's schema as JSON that parses back to a type reading data the same way, for code that
 * must rebuild the type elsewhere (the decode guard's thread, lossless-long copies).
 *
 * `type.schema({ exportAttrs: true })` keeps aliases, field defaults and docs, but avsc 5.7.9
 * leaves out an enum's `default`: a type rebuilt from it refuses writer symbols the original
 * resolves to that default ("cannot read "E" as "E""). This puts the defaults back.
 */
export function fullSchema(type: Type): unknown {
  const defaults = new Map<string, string>();
  collectEnumDefaults(type, defaults, new Set());
  const schema = type.schema({ exportAttrs: true }) as unknown;
  if (defaults.size > 0) restoreEnumDefaults(schema, defaults);
  return schema;
}

interface TypeParts {
  typeName: string;
  name?: string;
  default?: unknown;
  fields?: { type: Type }[];
  types?: Type[];
  itemsType?: Type;
  valuesType?: Type;
  underlyingType?: Type;
}

function collectEnumDefaults(type: Type, out: Map<string, string>, seen: Set<Type>): void {
  if (seen.has(type)) return;
  seen.add(type);
  const t = type as unknown as TypeParts;
  if (t.typeName === 'enum' && t.name !== undefined && typeof t.default === 'string') out.set(t.name, t.default);
  const inner = [...(t.fields?.map((f) => f.type) ?? []), ...(t.types ?? []), t.itemsType, t.valuesType, t.underlyingType];
  for (const i of inner) if (i) collectEnumDefaults(i, out, seen);
}

/** Walks the schema's types only: a field's `default` is a value, which may look like a schema. */
function restoreEnumDefaults(schema: unknown, defaults: Map<string, string>): void {
  if (Array.isArray(schema)) {
    for (const branch of schema) restoreEnumDefaults(branch, defaults);
    return;
  }
  if (!schema || typeof schema !== 'object') return;
  const s = schema as { type?: unknown; name?: unknown; default?: unknown; fields?: { type: unknown }[]; items?: unknown; values?: unknown };
  switch (s.type) {
    case 'enum':
      if (typeof s.name === 'string' && defaults.has(s.name) && s.default === undefined) s.default = defaults.get(s.name);
      return;
    case 'record':
    case 'error':
      for (const f of s.fields ?? []) restoreEnumDefaults(f.type, defaults);
      return;
    case 'array':
      return restoreEnumDefaults(s.items, defaults);
    case 'map':
      return restoreEnumDefaults(s.values, defaults);
    default:
      // A primitive, fixed or logical type, or `{ type: <schema> }`.
      if (s.type && typeof s.type === 'object') restoreEnumDefaults(s.type, defaults);
  }
}
