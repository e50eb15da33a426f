/** Turns arbitrary column names into unique Avro field names, deterministically. */
export function avroFieldNames(columns: string[]): string[] {
  const used = new Set<string>();
  return columns.map((c, i) => {
    let n = String(c).trim().replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
    if (n === '') n = `column_${i + 1}`;
    if (/^[0-9]/.test(n)) n = `_${n}`;
    let unique = n;
    for (let k = 2; used.has(unique); k++) unique = `${n}_${k}`;
    used.add(unique);
    return unique;
  });
}

/**
 * Avro's primitive type names, which no named type may take (avsc throws "cannot rename
 * primitive type"). Field names may: only record names need this.
 */
const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);

/**
 * A record name from a dataset or file name. Only names Avro refuses change (a leading `_`), so
 * every raw schema that could be built before keeps its name, and with it its content versions.
 */
export function avroName(s: string): string {
  const n = s.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
  if (n === '') return 'record';
  return /^[0-9]/.test(n) || PRIMITIVES.has(n) ? `_${n}` : n;
}
