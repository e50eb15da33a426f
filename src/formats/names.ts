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

export function avroName(s: string): string {
  const n = s.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
  return n === '' ? 'record' : /^[0-9]/.test(n) ? `_${n}` : n;
}
