import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config/paths';

const SCRIPT = `
import datetime, json, sys, fastavro
def plain(o):
    # Compare logical types by their Avro value: date -> days since the epoch.
    if isinstance(o, datetime.date): return (o - datetime.date(1970, 1, 1)).days
    if isinstance(o, bytes): return o.hex()
    return str(o)
out = {}
for f in sys.argv[1:]:
    with open(f, 'rb') as fh:
        r = fastavro.reader(fh)
        recs = list(r)
        out[f] = {"codec": r.codec, "count": len(recs), "records": recs}
print(json.dumps(out, default=plain))
`;

/** Reads Avro files with Python's fastavro (installed by scripts/setup-tools.sh into .tools/py). */
export function fastavroRead(files: Record<string, Buffer>): Record<string, { codec: string; count: number; records: unknown[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-fastavro-'));
  try {
    const paths: Record<string, string> = {};
    Object.entries(files).forEach(([name, buf], i) => {
      paths[name] = path.join(dir, `f${i}.avro`);
      fs.writeFileSync(paths[name], buf);
    });
    const stdout = execFileSync('python3', ['-c', SCRIPT, ...Object.values(paths)], {
      env: { ...process.env, PYTHONPATH: path.join(PROJECT_ROOT, '.tools', 'py') }, maxBuffer: 512 * 1024 * 1024,
    });
    const byPath = JSON.parse(stdout.toString('utf8'));
    return Object.fromEntries(Object.entries(paths).map(([name, p]) => [name, byPath[p]]));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const WRITE = `
import json, sys, fastavro
schema, records, codec, out = sys.argv[1:]
with open(out, 'wb') as fh:
    fastavro.writer(fh, fastavro.parse_schema(json.loads(schema)), json.loads(records), codec=codec)
`;

/** Writes an Avro file with fastavro: records as JSON text, so that keys such as "__proto__" stay keys. */
export function fastavroWrite(schema: object, recordsJson: string, codec = 'null'): Buffer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-fastavro-'));
  try {
    const out = path.join(dir, 'out.avro');
    execFileSync('python3', ['-c', WRITE, JSON.stringify(schema), recordsJson, codec, out], { env: { ...process.env, PYTHONPATH: path.join(PROJECT_ROOT, '.tools', 'py') } });
    return fs.readFileSync(out);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
