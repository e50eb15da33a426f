import { createHash } from 'node:crypto';

/**
 * What a schema says beyond its Parsing Canonical Form: field defaults, aliases, doc, order,
 * logicalType and its parameters, an enum's default, any other attribute. The canonical form
 * (and so the fingerprint) drops them, yet they change what is read (a default fills a missing
 * field, an alias finds a renamed one) and what is written (an output's header holds the schema
 * as its file has it), so content versions must see them.
 *
 * Only what is said counts, not how: key order, whitespace, a namespace given apart from the name
 * and `{"type": "int"}` for `"int"` are not extras (the canonical form already settles them), so
 * a schema whose file differs from its canonical form only in such writing has none.
 */
export type SchemaExtra = [of: 'schema' | 'field', path: string[], attributes: Record<string, unknown>];

/** The attributes the canonical form keeps, by kind of schema; every other one is an extra. */
const KEPT: Record<string, ReadonlySet<string>> = {
  record: new Set(['type', 'name', 'namespace', 'fields']),
  error: new Set(['type', 'name', 'namespace', 'fields']),
  enum: new Set(['type', 'name', 'namespace', 'symbols']),
  fixed: new Set(['type', 'name', 'namespace', 'size']),
  array: new Set(['type', 'items']),
  map: new Set(['type', 'values']),
};
const TYPE_ONLY: ReadonlySet<string> = new Set(['type']);
const FIELD_KEPT: ReadonlySet<string> = new Set(['name', 'type']);

/** A JSON value with object keys sorted, so that how an attribute's value is written does not count. */
function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted);
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, sorted(o[k])]));
}

function extrasOf(node: Record<string, unknown>, kept: ReadonlySet<string>): Record<string, unknown> | undefined {
  const keys = Object.keys(node).filter((k) => !kept.has(k)).sort();
  return keys.length ? Object.fromEntries(keys.map((k) => [k, sorted(node[k])])) : undefined;
}

/**
 * Every extra of a parsed schema (as loadSchema parsed it, depth already checked), in schema
 * order, each with where it is: field names, `items`, `values`, a union branch's index, and
 * `type` for a schema given as `{"type": <schema>}`; and whether it is a field's attribute or its
 * type's (`"logicalType"` beside a field's `"type": "int"` is not the one inside it).
 */
export function schemaExtras(schema: unknown): SchemaExtra[] {
  const out: SchemaExtra[] = [];
  const visit = (s: unknown, at: string[]): void => {
    if (Array.isArray(s)) {
      s.forEach((branch, k) => visit(branch, [...at, String(k)]));
      return;
    }
    if (s === null || typeof s !== 'object') return; // a primitive's or named type's name
    const o = s as Record<string, unknown>;
    const kind = typeof o.type === 'string' ? o.type : '';
    const own = extrasOf(o, KEPT[kind] ?? TYPE_ONLY);
    if (own) out.push(['schema', at, own]);
    if (kind === 'record' || kind === 'error') {
      for (const f of Array.isArray(o.fields) ? o.fields : []) {
        if (f === null || typeof f !== 'object') continue;
        const field = f as Record<string, unknown>;
        const where = [...at, String(field.name)];
        const attrs = extrasOf(field, FIELD_KEPT);
        if (attrs) out.push(['field', where, attrs]);
        visit(field.type, where);
      }
    } else if (kind === 'array') visit(o.items, [...at, 'items']);
    else if (kind === 'map') visit(o.values, [...at, 'values']);
    else if (typeof o.type === 'object') visit(o.type, [...at, 'type']);
  };
  visit(schema, []);
  return out;
}

/** SHA-256 (hex) of a parsed schema's extras, or undefined when it has none. */
export function schemaExtrasHash(schema: unknown): string | undefined {
  const extras = schemaExtras(schema);
  return extras.length ? createHash('sha256').update(JSON.stringify(extras)).digest('hex') : undefined;
}
