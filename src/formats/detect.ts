import type { SourceFormat } from '../pipeline/input';

/** The format of a source object by its name; undefined for names partflow does not import. */
export function formatOf(key: string): SourceFormat | undefined {
  const k = key.toLowerCase().replace(/\.(gz)$/, '');
  if (k.endsWith('.avro')) return 'avro';
  if (k.endsWith('.csv')) return 'csv';
  if (k.endsWith('.jsonl') || k.endsWith('.ndjson')) return 'jsonl';
  if (k.endsWith('.json')) return 'json';
  return undefined;
}

/** Object names a listing skips: markers, hidden files, partflow's own metadata. */
export function isIgnoredKey(key: string): boolean {
  const base = key.slice(key.lastIndexOf('/') + 1);
  return base.startsWith('.') || base.startsWith('_') || base === '';
}
