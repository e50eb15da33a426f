import { Type } from 'avsc';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../config/paths';
import { schemaFingerprint } from './fingerprint';
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
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new SchemaError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  let type: Type;
  try {
    checkSchemaDepth(parsed);
    type = forSchema(parsed);
  } catch (err) {
    throw new SchemaError(`${file}: invalid Avro schema: ${(err as Error).message}`);
  }
  const loaded: LoadedSchema = {
    ref: `${name}@${version}`, name, version, file, json: JSON.stringify(parsed), type, fingerprint: schemaFingerprint(type),
  };
  cache.set(key, loaded);
  return loaded;
}
