import type { SourceFormat } from '../pipeline/input';

/** The format of a source object by its name; undefined for names partflow does not import. */
export function formatOf(key: string): SourceFormat | undefined {
  const lower = key.toLowerCase();
  // Gzip is for flat files only (decompressed as they stream); Avro compresses its own blocks.
  const k = lower.replace(/\.gz$/, '');
  if (k.endsWith('.avro')) return k === lower ? 'avro' : undefined;
  if (k.endsWith('.csv')) return 'csv';
  if (k.endsWith('.jsonl') || k.endsWith('.ndjson')) return 'jsonl';
  if (k.endsWith('.json')) return 'json';
  return undefined;
}

/**
 * Objects a listing skips: hidden files and anything under a folder whose name starts with "_"
 * or "." below the source prefix (partflow's own _manifests, _rejects, Spark's _SUCCESS, …).
 */
export function isIgnoredKey(key: string, prefix = ''): boolean {
  const rel = key.startsWith(prefix) ? key.slice(prefix.length) : key;
  return rel === '' || rel.split('/').some((seg) => seg.startsWith('.') || seg.startsWith('_'));
}
