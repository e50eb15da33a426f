import { Type } from 'avsc';
import { fieldValue, setEntry } from '../avro/proto-fields';

type AnyType = Type & { typeName: string; fields?: { name: string; type: Type }[]; itemsType?: Type; valuesType?: Type; types?: Type[]; branchName?: string };

/**
 * An Avro value as a search index's bulk loader takes it (Solr, Elasticsearch): unions unwrapped
 * to their value, bytes and fixed as base64, longs beyond 2^53 as exact integers (bigints, which
 * `jsonText` writes without rounding), enums as strings, maps as objects. JSON has no NaN or
 * infinities: those floats become the strings "NaN", "Infinity" and "-Infinity", so nothing is lost.
 */
export function searchJson(type: Type, value: unknown): unknown {
  const t = type as AnyType;
  if (value === null || value === undefined) return null;
  switch (t.typeName) {
    case 'record':
    case 'error': {
      const v = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const f of t.fields!) setEntry(out, f.name, searchJson(f.type, fieldValue(v, f.name)));
      return out;
    }
    case 'array':
      return (value as unknown[]).map((x) => searchJson(t.itemsType!, x));
    case 'map': {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(value as Record<string, unknown>)) setEntry(out, k, searchJson(t.valuesType!, x));
      return out;
    }
    case 'union:wrapped': {
      const [branch] = Object.keys(value as object);
      const bt = t.types!.find((b) => (b as AnyType).branchName === branch);
      return bt ? searchJson(bt, (value as Record<string, unknown>)[branch]) : plain(value);
    }
    case 'union:unwrapped': {
      const bt = t.types!.find((b) => (b as AnyType).typeName !== 'null' && b.isValid(value));
      return bt ? searchJson(bt, value) : plain(value);
    }
    default:
      return plain(value);
  }
}

function plain(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return value;
}
