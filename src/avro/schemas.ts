import { Type } from 'avsc';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../config/paths';
import { schemaFingerprint } from './fingerprint';
import { schemaExtrasHash } from './schema-extras';
import { forSchema } from './proto-fields';
import { checkSchemaDepth } from './schema-depth';

/**
 * Record schemas live in `schemas/<name>/v<N>.avsc`, one file per version, never edited once
 * released. A reference is `name` (the newest version) or `name@N`.
 */
export const SCHEMAS_DIR = path.join(PROJECT_ROOT, 'schemas');

export interface LoadedSchema {
  ref: string;
  name: string;
  version: number;
  file: string;
  json: string;
  type: Type;
  fingerprint: string;
  /**
   * SHA-256 of what the schema says beyond its canonical form (defaults, aliases, doc, logical
   * types...; see schema-extras.ts), absent when nothing: content versions hash it, the
   * fingerprint (manifests, compatibility checks) leaves it out.
   */
  extras?: string;
}

export class SchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchemaError';
  }
}

export function schemaVersions(name: string, dir = SCHEMAS_DIR): number[] {
  const d = path.join(dir, name);
  if (!fs.existsSync(d)) return [];
  return fs
    .readdirSync(d)
    .map((f) => /^v(\d+)\.avsc$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

export function listSchemaNames(dir = SCHEMAS_DIR): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((n) => schemaVersions(n, dir).length > 0).sort();
}

const cache = new Map<string, LoadedSchema>();

/** Folders a pipeline's schemas were looked for in, none of which exists, by the one it was given. */
const searches = new Map<string, string[]>();

/** `dir` stands for a search of these folders (src/api/schemas-dirs.ts): "not found" names them all. */
export function noteSchemasSearch(dir: string, folders: string[]): void {
  searches.set(dir, folders);
}

function notFound(name: string, dir: string): string {
  const searched = fs.existsSync(dir) ? undefined : searches.get(dir);
  if (searched) return `schema "${name}" not found: no schemas folder where it was looked for: ${searched.join('; ')}. Create one, or give the pipeline a schemasDir`;
  return `schema "${name}" not found: no ${path.join(dir, name, 'v<N>.avsc')}`;
}

export function loadSchema(ref: string, dir = SCHEMAS_DIR): LoadedSchema {
  const key = `${dir}|${ref}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:@(\d+))?$/.exec(ref);
  if (!m) throw new SchemaError(`bad schema reference "${ref}": expected "name" or "name@N"`);
  const name = m[1];
  const versions = schemaVersions(name, dir);
  if (versions.length === 0) throw new SchemaError(notFound(name, dir));
  const version = m[2] !== undefined ? Number(m[2]) : versions[versions.length - 1];
  if (!versions.includes(version)) throw new SchemaError(`schema "${name}" has no version ${version} (has ${versions.join(', ')})`);
  const file = path.join(dir, name, `v${version}.avsc`);
  let parsed: unknown;
  const text = fs.readFileSync(file, 'utf8');
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new SchemaError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  let type: Type;
  try {
    checkSchemaDepth(parsed);
    type = forSchema(parsed);
  } catch (err) {
    const why = (err as Error).message;
    throw new SchemaError(`${file}: invalid Avro schema: ${(/incompatible field default -?\d{16}/.test(why) && unsafeDefaults(parsed, text)) || why}`);
  }
  const extras = schemaExtrasHash(parsed);
  const loaded: LoadedSchema = {
    ref: `${name}@${version}`, name, version, file, json: JSON.stringify(parsed), type, fingerprint: schemaFingerprint(type), ...(extras ? { extras } : {}),
  };
  cache.set(key, loaded);
  return loaded;
}

/** The largest long avsc's own long type takes (its isSafeLong: 2^53 - 2). */
const LONG_DEFAULT_MAX = 9007199254740990;

/** A long, or a union whose first branch (the one a default is for) is one. */
function isLong(t: unknown): boolean {
  const first = Array.isArray(t) ? t[0] : t;
  return first === 'long' || (typeof first === 'object' && first !== null && (first as { type?: unknown }).type === 'long');
}

/**
 * Why avsc refused defaults it only saw rounded: JSON.parse turns an integer beyond 2^53
 * (Long.MAX_VALUE, a timestamp-nanos) into the nearest double, which avsc's long then calls
 * invalid, naming a number the file does not hold. Undefined when no default is such an integer.
 */
function unsafeDefaults(parsed: unknown, text: string): string | undefined {
  const fields: string[] = [];
  const visit = (node: unknown, depth: number): void => {
    if (depth > 200 || node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const n of node) visit(n, depth + 1);
      return;
    }
    const o = node as Record<string, unknown>;
    if (Array.isArray(o.fields)) {
      for (const f of o.fields as Record<string, unknown>[]) {
        if (typeof f?.default === 'number' && Number.isInteger(f.default) && Math.abs(f.default) > LONG_DEFAULT_MAX && isLong(f.type)) fields.push(`"${String(f.name)}"`);
      }
    }
    for (const v of Object.values(o)) visit(v, depth + 1);
  };
  visit(parsed, 0);
  if (!fields.length) return undefined;
  const written = [...text.matchAll(/"default"\s*:\s*(-?\d+)(?![\d.eE])/g)].map((m) => m[1]).filter((d) => Math.abs(Number(d)) > LONG_DEFAULT_MAX);
  return `the default${fields.length > 1 ? 's' : ''} of field${fields.length > 1 ? 's' : ''} ${fields.join(', ')} (${written.join(', ')}) lie${fields.length > 1 ? '' : 's'} beyond ±${LONG_DEFAULT_MAX} (about 2^53), `
    + 'which a pipeline schema cannot hold exactly (its defaults are JavaScript numbers): give a default within that range, or none. Input files whose own schemas have such defaults still read';
}
