/**
 * Which format an S3 source is read as, from its object names: one rule for planning, which
 * decides, and for the client's check before a run starts, which refuses what planning would.
 */
import { formatOf } from '../formats/detect';
import { formatS3Url } from '../storage/s3url';
import type { SourceFormat } from './input';

/** The first few objects as URLs, and how many more there are. */
export function someUrls(bucket: string, keys: string[], n = 5): string {
  return `${keys.slice(0, n).map((k) => formatS3Url({ bucket, key: k })).join(', ')}${keys.length > n ? ` and ${keys.length - n} more` : ''}`;
}

/** A source whose objects' names say no single format partflow reads (and no "format" was given). */
export class UnsupportedSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedSourceError';
  }
}

/** The one format of these source objects' keys, or why there is none (an unknown ending, a mix). */
export function sourceFormatOf(bucket: string, source: string, keys: readonly string[]): SourceFormat | UnsupportedSourceError {
  const formats = new Map<string, string[]>();
  for (const k of keys) {
    const f = formatOf(k) ?? 'unsupported';
    const same = formats.get(f);
    if (same) same.push(k); // not a spread copy: that was quadratic, minutes at 100k objects
    else formats.set(f, [k]);
  }
  const bad = formats.get('unsupported');
  if (bad) return new UnsupportedSourceError(`cannot tell the format of ${someUrls(bucket, bad)} (known endings: .csv .jsonl .ndjson .json .avro, and .gz after the flat ones; or give the format: --format, the input's "format")`);
  if (formats.size > 1) return new UnsupportedSourceError(`source ${source} mixes formats (${[...formats.keys()].join(', ')}); ingest each format from its own prefix, or give one format for all (--format, the input's "format")`);
  return [...formats.keys()][0] as SourceFormat;
}
