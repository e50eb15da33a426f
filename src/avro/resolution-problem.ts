import { Type, types } from 'avsc';
import { branchFor, isUnion, plain } from './type-pairs';

/**
 * Why data written with `writer` cannot be read as `reader` (Avro schema resolution), naming the
 * field where it fails as a dotted path (`id`, `offer.price`, `items[].tax`, `attrs{}.unit`);
 * null when it can. avsc's own message names only the two types (`cannot read "long" as
 * "string"`), which in a record of many fields does not say which one to fix.
 */
export function resolutionProblem(reader: Type, writer: Type): string | null {
  const message = fails(reader, writer);
  return message === null ? null : locate(reader, writer, '', message, new Set());
}

function fails(reader: Type, writer: Type): string | null {
  try {
    reader.createResolver(writer);
    return null;
  } catch (err) {
    // avsc's resolvers assume a pair they can compare: some others (a union or a primitive read
    // as a record) throw a TypeError of its internals ("reading 'length'"), which says nothing.
    return err instanceof TypeError ? `cannot read ${inWords(writer)} as ${inWords(reader)}` : (err as Error).message;
  }
}

/** `record test.Weather`, `["null","int"]`, `"long"`: a type as its schema would name it. */
function inWords(t: Type): string {
  if (isUnion(t)) return JSON.stringify(t.types.map((b) => b.name ?? b.typeName));
  return t.name ? `${t.typeName} ${t.name}` : JSON.stringify(t.typeName);
}

function at(path: string, message: string): string {
  return path ? `field ${path}: ${message}` : message;
}

/** Follows the failing part of `reader` and `writer` down as far as it goes; `message` is avsc's for this level. */
function locate(reader: Type, writer: Type, path: string, message: string, seen: Set<string>): string {
  const r = plain(reader);
  const w = plain(writer);
  if (isUnion(w)) {
    // Every branch the writer may have written must be readable: the first that is not is the problem.
    for (const branch of w.types) {
      const m = fails(reader, branch);
      if (m !== null) return locate(reader, branch, path, m, seen);
    }
    return at(path, message);
  }
  if (isUnion(r)) {
    // The branch Avro would pick (the same named type, else the same kind) says more than the union.
    const branch = branchFor(w, r.types);
    const m = branch && fails(branch, w);
    return branch && m ? locate(branch, w, path, m, seen) : at(path, message);
  }
  if (r instanceof types.RecordType && w instanceof types.RecordType) {
    // Recursive schemas: a pair of records is followed once.
    const pair = `${r.name}\u0000${w.name}`;
    if (seen.has(pair)) return at(path, message);
    seen.add(pair);
    if (r.name !== w.name && !(r.aliases ?? []).includes(w.name!)) return at(path, `the reading record ${r.name} is not named ${w.name} and has no alias "${w.name}"`);
    for (const rf of r.fields) {
      const here = path ? `${path}.${rf.name}` : rf.name;
      const wf = w.fields.find((f) => f.name === rf.name || rf.aliases.includes(f.name));
      if (!wf) {
        if (rf.defaultValue() === undefined) return `field ${here}: the data has no such field, and the reading schema gives it no default`;
        continue;
      }
      const m = fails(rf.type, wf.type);
      if (m !== null) return locate(rf.type, wf.type, here, m, seen);
    }
    return at(path, message);
  }
  if (r instanceof types.EnumType && w instanceof types.EnumType) {
    const missing = w.symbols.filter((s) => !r.symbols.includes(s));
    if (missing.length) return at(path, `the reading enum lacks symbol${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (and has no default)`);
    return at(path, message);
  }
  if (r instanceof types.ArrayType && w instanceof types.ArrayType) {
    const m = fails(r.itemsType, w.itemsType);
    return m === null ? at(path, message) : locate(r.itemsType, w.itemsType, `${path}[]`, m, seen);
  }
  if (r instanceof types.MapType && w instanceof types.MapType) {
    const m = fails(r.valuesType as Type, w.valuesType as Type);
    return m === null ? at(path, message) : locate(r.valuesType as Type, w.valuesType as Type, `${path}{}`, m, seen);
  }
  return at(path, message);
}
