import { Type, types } from 'avsc';
import { branchFor, isUnion, plain } from './type-pairs';

/**
 * The fields of `writer` that reading its data as `reader` would drop, as dotted paths
 * (`offer.price`, `items[].tax`, `attrs{}.unit`). Avro schema resolution skips a writer field the
 * reader lacks without a word: right when a reader chose its schema, silent data loss when the
 * reader's schema was only the first of several inputs. Enum symbols the reader lacks are
 * reported too (`status: symbol C`): with a reader default they would silently become it.
 * Promotions are not reported (int to long or double is exact; a long beyond 2^53 read as a
 * double, or bytes that are not UTF-8 read as a string, are not, and are left to the reader's
 * choice); nor is anything createResolver refuses, which fails the read on its own.
 */
export function droppedFields(writer: Type, reader: Type): string[] {
  const out: string[] = [];
  walk(writer, reader, '', out, new Set());
  return out;
}

function walk(writerIn: Type, readerIn: Type, path: string, out: string[], seen: Set<string>): void {
  const w = plain(writerIn);
  const r = plain(readerIn);
  if (isUnion(w)) {
    for (const branch of w.types) walk(branch, r, path, out, seen);
    return;
  }
  if (isUnion(r)) {
    const branch = branchFor(w, r.types.map(plain));
    if (branch) walk(w, branch, path, out, seen);
    return;
  }
  if (w instanceof types.RecordType && r instanceof types.RecordType) {
    // Recursive schemas: a pair of records is walked once.
    const pair = `${w.name}\u0000${r.name}`;
    if (seen.has(pair)) return;
    seen.add(pair);
    for (const f of w.fields) {
      const at = path ? `${path}.${f.name}` : f.name;
      const match = r.fields.find((rf) => rf.name === f.name || rf.aliases.includes(f.name));
      if (!match) out.push(at);
      else walk(f.type, match.type, at, out, seen);
    }
    return;
  }
  if (w instanceof types.EnumType && r instanceof types.EnumType) {
    const missing = w.symbols.filter((x) => !r.symbols.includes(x));
    if (missing.length) out.push(`${path || '(value)'}: symbol${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
    return;
  }
  if (w instanceof types.ArrayType && r instanceof types.ArrayType) {
    walk(w.itemsType, r.itemsType, `${path}[]`, out, seen);
    return;
  }
  if (w instanceof types.MapType && r instanceof types.MapType) {
    walk(w.valuesType as Type, r.valuesType as Type, `${path}{}`, out, seen);
  }
}
