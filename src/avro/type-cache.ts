import { Type } from 'avsc';
import { forSchemaLenientDefaults } from './lenient-defaults';
import { checkSchemaDepth } from './schema-depth';

/**
 * Parsed schemas by their JSON text. Type.forSchema compiles code for every record type, which
 * costs more than reading a small object; a worker sees the same few schemas in partition after
 * partition. Types are not changed by use, so one can serve every reader and writer.
 */
const MAX = 256;
const cache = new Map<string, Type>();

/** Only wrapUnions is taken: other options (registries, logical types) would make types differ. */
export function typeForSchema(schemaJson: string, opts: { wrapUnions?: 'auto' } = {}): Type {
  const id = `${opts.wrapUnions ?? ''}\u0000${schemaJson}`;
  let t = cache.get(id);
  if (t) {
    // Most recently used last: the first key is the one to evict.
    cache.delete(id);
    cache.set(id, t);
    return t;
  }
  const json: unknown = JSON.parse(schemaJson);
  checkSchemaDepth(json);
  // Headers' schemas, and schemas copied from them: defaults avsc refuses do not stop a read.
  t = forSchemaLenientDefaults(json, opts);
  cache.set(id, t);
  if (cache.size > MAX) cache.delete(cache.keys().next().value as string);
  return t;
}
