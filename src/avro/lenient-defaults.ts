import { Type } from 'avsc';
import { forSchema } from './proto-fields';

/**
 * Builds a type from a schema that other Avro writers accept but avsc refuses for a field's
 * default: a long beyond 2^53 (any timestamp-nanos default), a float or double "NaN" or
 * "Infinity" (how Java writes them), a union default that matches a later branch. Java's
 * DataFileStream parses a file's header without validating defaults, and a writer's defaults
 * play no part in decoding, so such a file must read. Such a default is dropped from the type
 * (the schema's text, which partflow copies into headers, is left as written); every default avsc
 * accepts is kept, as it serves when the type resolves other data or fills an omitted field.
 */
export function forSchemaLenientDefaults(schema: unknown, opts: { wrapUnions?: 'auto' } = {}): Type {
  try {
    return forSchema(schema, opts);
  } catch (err) {
    if (!/incompatible field default/.test((err as Error)?.message ?? '')) throw err;
  }
  const fields: DefaultedField[] = [];
  const bare = withoutDefaults(schema, fields);
  // Compiled without any default, to ask each field's own type whether its default is valid.
  const records = new Map<object, RecordParts>();
  mapRecords(bare, forSchema(bare, opts) as unknown as TypeParts, records);
  for (const f of fields) {
    const type = records.get(f.record)?.fields?.[f.index]?.type;
    const value = type && validDefault(type, f.value);
    if (value !== undefined) f.record.fields[f.index].default = value;
  }
  return forSchema(bare, opts);
}

interface DefaultedField {
  record: { fields: Record<string, unknown>[] };
  index: number;
  value: unknown;
}

interface TypeParts {
  fields?: { type: TypeParts }[];
  types?: TypeParts[];
  itemsType?: TypeParts;
  valuesType?: TypeParts;
  _copy(v: unknown, opts: object): unknown;
}
type RecordParts = TypeParts;

/** Non-finite numbers as Jackson (Java) writes them in a float or double default. */
const NON_FINITE: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };

/** The default as avsc takes it, or undefined if it refuses it (as it would refuse the schema). */
function validDefault(type: TypeParts, value: unknown): unknown {
  const candidates = typeof value === 'string' && value in NON_FINITE ? [value, NON_FINITE[value]] : [value];
  for (const v of candidates) {
    try {
      // What avsc's Field does with a default.
      type._copy(v, { coerce: 2, wrap: 2 });
      return v;
    } catch {
      // Try the next reading, or drop the default.
    }
  }
  return undefined;
}

/** A copy of the schema's types whose record fields have no `default`; those are listed in `out`. */
function withoutDefaults(schema: unknown, out: DefaultedField[]): unknown {
  if (Array.isArray(schema)) return schema.map((s) => withoutDefaults(s, out));
  if (!schema || typeof schema !== 'object') return schema;
  const s = { ...(schema as Record<string, unknown>) };
  switch (s.type) {
    case 'record':
    case 'error':
      if (Array.isArray(s.fields)) {
        const record = s as unknown as DefaultedField['record'];
        record.fields = (s.fields as unknown[]).map((f, index) => {
          if (!f || typeof f !== 'object') return f as Record<string, unknown>;
          const { default: value, ...field } = f as Record<string, unknown>;
          field.type = withoutDefaults(field.type, out);
          if (value !== undefined) out.push({ record, index, value });
          return field;
        });
      }
      return s;
    case 'array':
      s.items = withoutDefaults(s.items, out);
      return s;
    case 'map':
      s.values = withoutDefaults(s.values, out);
      return s;
    default:
      // `{ "type": <schema> }` wraps a schema; a primitive, enum or fixed holds no field.
      if (s.type && typeof s.type === 'object') s.type = withoutDefaults(s.type, out);
      return s;
  }
}

/** Each record schema object in `schema`, with the type avsc built for it (walked side by side). */
function mapRecords(schema: unknown, type: TypeParts, out: Map<object, RecordParts>): void {
  if (Array.isArray(schema)) {
    schema.forEach((s, i) => type.types?.[i] && mapRecords(s, type.types[i], out));
    return;
  }
  // A name refers to a type defined (and walked) where it first appears.
  if (!schema || typeof schema !== 'object') return;
  const s = schema as { type?: unknown; fields?: { type: unknown }[]; items?: unknown; values?: unknown };
  switch (s.type) {
    case 'record':
    case 'error':
      out.set(s, type);
      s.fields?.forEach((f, i) => type.fields?.[i] && mapRecords(f.type, type.fields[i].type, out));
      return;
    case 'array':
      if (type.itemsType) mapRecords(s.items, type.itemsType, out);
      return;
    case 'map':
      if (type.valuesType) mapRecords(s.values, type.valuesType, out);
      return;
    default:
      if (s.type && typeof s.type === 'object') mapRecords(s.type, type, out);
  }
}
