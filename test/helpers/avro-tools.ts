import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config/paths';

export const AVRO_TOOLS_JAR = path.join(PROJECT_ROOT, '.tools', 'avro-tools-1.12.1.jar');

/** Runs an avro-tools command on an Avro file (written to a temp file) and returns stdout. */
export function avroTools(cmd: string, file: Buffer, args: string[] = []): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-avro-tools-'));
  try {
    const f = path.join(dir, 'f.avro');
    fs.writeFileSync(f, file);
    return execFileSync('java', ['-jar', AVRO_TOOLS_JAR, cmd, ...args, f], { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 }).toString('utf8');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const BRANCHES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string', 'array', 'map']);

/** Avro JSON wraps union values as {"type": value}; unwrap them to compare with plain records. */
export function unwrapUnions(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(unwrapUnions);
  if (v && typeof v === 'object') {
    const keys = Object.keys(v);
    if (keys.length === 1 && BRANCHES.has(keys[0])) return unwrapUnions((v as Record<string, unknown>)[keys[0]]);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapUnions(x)]));
  }
  return v;
}

/** Every record of an Avro file as avro-tools `tojson` prints it, unions unwrapped. */
export function avroToolsRecords(file: Buffer): unknown[] {
  return avroTools('tojson', file).split('\n').filter((l) => l.trim() !== '').map((l) => unwrapUnions(JSON.parse(l)));
}
