import { createHash } from 'node:crypto';
import type { Piece } from './partitioning';
import type { StageInfo } from './types';

/** Code version of the import that turns flat files into raw Avro; bump when its output bytes change. */
// import-2: strings in JSON-text fields are stored as JSON text (quoted), so they differ from numbers.
export const IMPORT_CODE_VERSION = 'import-2';

function hash(x: unknown): string {
  return createHash('sha256').update(JSON.stringify(x)).digest('hex').slice(0, 16);
}

/**
 * A piece's blocks (planning's walk) count only where the sync-marker search of earlier readers
 * read other bytes: every other split piece reads the same records either way, so its version,
 * and the outputs made before the walk, stay; a misread one is computed again.
 */
function pieceIdentity(p: Piece): unknown[] {
  return [p.key, p.etag, p.range ?? null, ...(p.resynced && p.blocks ? [p.blocks] : [])];
}

/**
 * Raw version of an Avro partition read in place: its pieces' contents and the reader schema,
 * its fingerprint and, when it has any, what it says beyond its canonical form (a default or an
 * alias changes the records read). Hashed only when there are extras, so that the version of a
 * reader without any stays what it was before they counted.
 */
export function sourceVersion(pieces: Piece[], readerFingerprint: string | null, readerExtras?: string): string {
  return `src-${hash({ pieces: pieces.map(pieceIdentity), reader: readerFingerprint, ...(readerExtras ? { readerExtras } : {}) })}`;
}

/**
 * What a flat-file piece's import reads. A chunk of a cut file is known by its bytes (and where
 * it starts, which rejects name): rows appended to the file change its ETag but not the chunks
 * before them, whose imports, and every stage after, are then reused. Whole objects keep their
 * ETag: hashing them would version every existing flat partition anew for no gain on append.
 */
function importIdentity(p: Piece, format: string): unknown[] {
  // The delimiter counts only where the scan recorded one, so no earlier version changes.
  const how = p.delimiter ? [p.headerEnd ?? null, p.delimiter] : [p.headerEnd ?? null];
  if (p.sha256) return [p.key, { sha256: p.sha256, start: p.range?.[0] ?? 0 }, ...how];
  if (format === 'json' && !p.chunk && p.range?.[0] === 0 && p.range[1] < 0) {
    // A .json array in one piece: planned before chunks were byte ranges, its range was its
    // elements [0, n). It is imported the same, so its version stays what it was.
    return [p.key, p.etag, [0, p.records ?? 0], ...how];
  }
  return [...pieceIdentity(p), ...how];
}

/** Raw version of a flat-file partition: what is imported and how. */
export function importVersion(pieces: Piece[], format: string, rawSchemaJson: string): string {
  return `${IMPORT_CODE_VERSION}-${hash({ pieces: pieces.map((p) => importIdentity(p, format)), format, schema: rawSchemaJson })}`;
}

/**
 * A partition's content version at a stage: everything its output bytes depend on. The stage's
 * code version, schema (its fingerprint, and what it says beyond its canonical form: defaults,
 * aliases, doc, logical types), codec and params, the lookups it reads, and this partition's own
 * upstream versions; not other partitions' inputs, so one changed feed recomputes only its own
 * chain. The schema's extras are hashed only when there are some, so that the version of a stage
 * whose schema has none stays what it was before they counted.
 */
export function stageVersion(
  stage: Pick<StageInfo, 'name' | 'version' | 'schemaFingerprint' | 'schemaExtras' | 'codec'>,
  params: Record<string, string>,
  lookupEtags: Record<string, string>,
  upstream: [string, string][],
): string {
  const extras = stage.schemaExtras ? { schemaExtras: stage.schemaExtras } : {};
  return `${stage.version}-${hash({ stage: stage.name, version: stage.version, schema: stage.schemaFingerprint, codec: stage.codec, params, lookups: lookupEtags, upstream, ...extras })}`;
}
