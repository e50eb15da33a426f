import { jsonText } from './json-value';
import { avroFieldNames, avroName } from './names';

/**
 * Schema inference for JSON records, kept deliberately flat: scalars get their Avro type,
 * nested objects and arrays, and fields whose kind varies between records, are kept as their
 * JSON text in a string. Every field is nullable, since JSON sources omit fields freely.
 */
type Kind = 'null' | 'boolean' | 'long' | 'double' | 'string' | 'json' | 'wide' | 'huge';
// 'wide': an integer beyond 2^53 within Avro's long (a bigint); 'huge': beyond the long, kept as JSON text.

/** The inferrer's state, to carry on after a checkpoint: each property with the kinds seen, in first-seen order. */
export type InferState = [string, Kind[]][];

const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

export interface FieldPlan {
  /** Avro field name. */
  name: string;
  /** JSON property name. */
  source: string;
  type: 'boolean' | 'long' | 'double' | 'string' | 'json';
}

export class JsonSchemaInferrer {
  private kinds = new Map<string, Set<Kind>>();
  records = 0;

  add(value: unknown): void {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
    this.records++;
    for (const [k, v] of Object.entries(value)) {
      let set = this.kinds.get(k);
      if (!set) this.kinds.set(k, (set = new Set()));
      set.add(kindOf(v));
    }
  }

  state(): InferState {
    return [...this.kinds].map(([k, set]) => [k, [...set]]);
  }

  static from(state: InferState): JsonSchemaInferrer {
    const inf = new JsonSchemaInferrer();
    for (const [k, kinds] of state) inf.kinds.set(k, new Set(kinds));
    return inf;
  }

  fields(): FieldPlan[] {
    const sources = [...this.kinds.keys()];
    const names = avroFieldNames(sources);
    return sources.map((source, i) => {
      const ks = new Set(this.kinds.get(source));
      ks.delete('null');
      if (ks.has('huge') || (ks.has('wide') && ks.has('double'))) {
        // No Avro number type holds these exactly: keep the JSON text.
        ks.clear();
        ks.add('json');
      } else if (ks.delete('wide')) ks.add('long');
      let type: FieldPlan['type'];
      if (ks.size === 0) type = 'string';
      else if (ks.size === 1) type = [...ks][0] as FieldPlan['type'];
      else if (ks.size === 2 && ks.has('long') && ks.has('double')) type = 'double';
      else type = 'json';
      return { name: names[i], source, type };
    });
  }

  schema(recordName: string): object {
    return jsonRecordSchema(recordName, this.fields());
  }
}

export function jsonRecordSchema(recordName: string, fields: FieldPlan[]): object {
  return {
    type: 'record',
    name: avroName(recordName),
    namespace: 'partflow.raw',
    fields: fields.map((f) => ({
      name: f.name,
      type: ['null', f.type === 'json' ? 'string' : f.type],
      default: null,
      'partflow.source': f.source,
      ...(f.type === 'json' ? { 'partflow.encoding': 'json' } : {}),
    })),
  };
}

function kindOf(v: unknown): Kind {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') return Number.isSafeInteger(v) ? 'long' : 'double';
  if (typeof v === 'bigint') return v >= LONG_MIN && v <= LONG_MAX ? 'wide' : 'huge';
  if (typeof v === 'string') return 'string';
  return 'json';
}

/** JSON numbers like 1e400 parse as ±Infinity, which JSON text cannot hold (it writes null). */
function hasNonFinite(v: unknown): boolean {
  if (typeof v === 'number') return !Number.isFinite(v);
  if (typeof v !== 'object' || v === null) return false;
  for (const x of Array.isArray(v) ? v : Object.values(v)) if (hasNonFinite(x)) return true;
  return false;
}

/** Converts a parsed JSON record to the inferred schema's shape; throws with the field name when it cannot. */
export function toInferredRecord(value: unknown, fields: FieldPlan[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`expected a JSON object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`);
  }
  const obj = value as Record<string, unknown>;
  const known = new Set(fields.map((f) => f.source));
  const extra = Object.keys(obj).filter((k) => !known.has(k));
  if (extra.length) throw new Error(`fields not in the inferred schema: ${extra.join(', ')}`);
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    // Own properties only: a record without "constructor" or "toString" must not read Object.prototype's.
    const v = Object.hasOwn(obj, f.source) ? obj[f.source] : undefined;
    if (v === undefined || v === null) out[f.name] = null;
    else if (hasNonFinite(v)) throw new Error(`field "${f.source}": a number beyond the range of a double (it would be stored as ${f.type === 'json' ? 'null' : 'Infinity'})`);
    // Every value of a JSON-text field is its JSON text, strings too: "5" and 5 stay apart.
    else if (f.type === 'json') out[f.name] = jsonText(v);
    else if (f.type === 'double' && typeof v === 'number') out[f.name] = v;
    else if (f.type === 'long' && typeof v === 'number' && Number.isSafeInteger(v)) out[f.name] = v;
    else if (f.type === 'long' && typeof v === 'bigint' && v >= LONG_MIN && v <= LONG_MAX) out[f.name] = v;
    else if (f.type === 'boolean' && typeof v === 'boolean') out[f.name] = v;
    else if (f.type === 'string' && typeof v === 'string') out[f.name] = v;
    else throw new Error(`field "${f.source}": ${jsonText(v)} is not a ${f.type}`);
  }
  return out;
}
