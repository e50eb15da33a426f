import { S3Client } from '@aws-sdk/client-s3';
import { Type } from 'avsc';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { CodecName } from '../avro/codecs';
import { syncMarkerFor } from '../avro/container';
import { setEntry } from '../avro/proto-fields';
import { schemaFingerprint } from '../avro/fingerprint';
import { forSchema } from '../avro/proto-fields';
import { loadSchema } from '../avro/schemas';
import { formatOf } from '../formats/detect';
import { jsonText, parseJson } from '../formats/json-value';
import { FlatFormat, scanFlatFile } from '../formats/flat';
import { readChunk, rejectPlace } from '../formats/flat-read';
import { avroFieldNames } from '../formats/names';
import { AvroObjectWriter, RecordEncodeError, WrittenObject } from '../io/avro-object-writer';
import { PartitionManifest } from '../manifest/partition';
import { getObjectStream, listObjects, putIfAbsent } from '../storage/objects';
import { formatS3Url, parseS3Url } from '../storage/s3url';
import { progressBar } from './progress';
import { IMPORT_CODE_VERSION } from '../pipeline/versions';
import { SchemaWidthError } from '../avro/schema-depth';

export interface ImportOptions {
  from: string;
  to: string;
  format?: FlatFormat;
  schemaFile?: string;
  partitionRecords: number;
  codec: CodecName;
}

interface SourceFile {
  name: string;
  size: number;
  open(range?: { start: number; end?: number }): Promise<Readable>;
}

async function listSources(s3: S3Client, from: string, format?: FlatFormat): Promise<SourceFile[]> {
  const keep = (n: string) => (format ? true : formatOf(n) !== undefined && formatOf(n) !== 'avro');
  if (from.startsWith('s3://')) {
    const loc = parseS3Url(from);
    const objs = await listObjects(s3, loc.bucket, loc.key);
    return objs.filter((o) => keep(o.key)).map((o) => ({
      name: formatS3Url({ bucket: loc.bucket, key: o.key }), size: o.size,
      open: (range) => getObjectStream(s3, loc.bucket, o.key, range),
    }));
  }
  const stat = fs.statSync(from);
  const files = stat.isDirectory()
    ? fs.readdirSync(from, { recursive: true }).map((f) => path.join(from, String(f))).filter((f) => fs.statSync(f).isFile()).sort()
    : [from];
  return files.filter(keep).map((f) => ({
    name: path.resolve(f), size: fs.statSync(f).size,
    open: async (range) => (range && (range.start > 0 || range.end !== undefined)
      ? (range.end !== undefined && range.end <= range.start ? Readable.from([]) : fs.createReadStream(f, { start: range.start, end: range.end === undefined ? undefined : range.end - 1 }))
      : fs.createReadStream(f)),
  }));
}

const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;
const TRUE = new Set(['true', '1', 'yes', 'y', 't']);
const FALSE = new Set(['false', '0', 'no', 'n', 'f']);

/** Converts a parsed flat-file value into a field of the given Avro type; throws with the reason. */
function coerce(v: unknown, t: Type): unknown {
  const name = t.typeName;
  if (name === 'union' || name === 'union:unwrapped' || name === 'union:wrapped') {
    const branches = (t as unknown as { types: Type[] }).types;
    if ((v === null || v === undefined || v === '') && branches.some((b) => b.typeName === 'null')) return null;
    let last: Error | undefined;
    for (const b of branches.filter((b) => b.typeName !== 'null')) {
      try {
        return coerce(v, b);
      } catch (err) {
        last = err as Error;
      }
    }
    throw last ?? new Error('no branch fits');
  }
  const s = typeof v === 'string' ? v.trim() : v;
  switch (name) {
    case 'null':
      if (s === null || s === undefined || s === '') return null;
      break;
    case 'string':
      return typeof v === 'string' ? v : jsonText(v);
    case 'int':
    case 'long': {
      const n = typeof s === 'number' ? s : typeof s === 'string' && /^-?\d+$/.test(s) ? Number(s) : NaN;
      // An int's range checked here, where the field is known: the encoder's own error names no field.
      if (name === 'int' && Number.isInteger(n) && (n < INT_MIN || n > INT_MAX)) throw new Error(`${JSON.stringify(v)} is beyond the range of an int (${INT_MIN} to ${INT_MAX}): make the field a long`);
      if (Number.isSafeInteger(n)) return n;
      if (name === 'long' && typeof s === 'string' && /^-?\d+$/.test(s)) return BigInt(s);
      if (typeof s === 'number' && Number.isInteger(s)) return s;
      break;
    }
    case 'float':
    case 'double': {
      const n = typeof s === 'number' ? s : typeof s === 'string' && s !== '' ? Number(s) : NaN;
      if (!Number.isNaN(n)) return n;
      break;
    }
    case 'boolean':
      if (typeof s === 'boolean') return s;
      if (typeof s === 'string' && TRUE.has(s.toLowerCase())) return true;
      if (typeof s === 'string' && FALSE.has(s.toLowerCase())) return false;
      break;
    case 'enum':
      if (typeof s === 'string' && (t as unknown as { symbols: string[] }).symbols.includes(s)) return s;
      break;
    default: {
      const parsed = typeof v === 'string' ? JSON.parse(v) : v;
      if (t.isValid(parsed)) return parsed;
    }
  }
  throw new Error(`${JSON.stringify(v)} is not a valid ${name}`);
}

/**
 * Maps a raw record (keyed by sanitized source names) onto a user schema's fields. A raw field in
 * `jsonTextKeys` holds the JSON text the inferred schema keeps for a field of mixed kinds (or
 * nested values): its value is parsed back first, so a string field gets `x`, not `"x"`.
 */
function toSchema(raw: Record<string, unknown>, sourceNames: Map<string, string>, jsonTextKeys: Set<string>, type: Type): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of (type as unknown as { fields: { name: string; type: Type; defaultValue(): unknown }[] }).fields) {
    const key = sourceNames.get(f.name) ?? f.name;
    // Own keys only: a field named like an Object.prototype property is not in the row.
    const held = Object.hasOwn(raw, key) ? raw[key] : undefined;
    const v = typeof held === 'string' && jsonTextKeys.has(key) ? parseJson(held) : held;
    try {
      const value = v === undefined ? f.defaultValue() : coerce(v, f.type);
      if (value === undefined) throw new Error('missing and has no default');
      setEntry(out, f.name, value);
    } catch (err) {
      throw new Error(`field "${f.name}": ${(err as Error).message}`);
    }
  }
  return out;
}

export interface ImportResult {
  partitions: number;
  records: { in: number; out: number; rejected: number };
  inferredSchemas: object[];
  outputs: string[];
  /** Files with no records (csv: no header row; jsonl: blank lines only; json: `[]`), which give no partition. */
  empty: string[];
}

/**
 * Imports flat files into raw Avro partitions of at most partitionRecords records, with a
 * partition manifest each; rows that do not parse or fit the schema go to _rejects/.
 */
export async function importFlatFiles(s3: S3Client, o: ImportOptions, log: (m: string) => void = () => undefined): Promise<ImportResult> {
  const to = parseS3Url(o.to, { prefix: true });
  const dir = to.key.replace(/\/$/, '');
  const sources = await listSources(s3, o.from, o.format);
  if (sources.length === 0) throw new Error(`no ${o.format ?? 'csv/jsonl/json'} files under ${o.from}`);
  const userSchema = o.schemaFile ? (() => {
    const json = fs.readFileSync(o.schemaFile!, 'utf8');
    return { json: JSON.stringify(JSON.parse(json)), type: forSchema(JSON.parse(json)) };
  })() : undefined;
  const rejectSchema = loadSchema('partflow_reject@1');
  const result: ImportResult = { partitions: 0, records: { in: 0, out: 0, rejected: 0 }, inferredSchemas: [], outputs: [], empty: [] };
  const totalBytes = sources.reduce((n, s) => n + s.size, 0);
  const bar = progressBar('import', totalBytes, 'bytes');
  let doneBytes = 0;
  try {
    for (const src of sources) {
      const format = o.format ?? (formatOf(src.name) as FlatFormat);
      const scan = await scanFlatFile(src.name, format, await src.open(), o.partitionRecords, path.basename(src.name).replace(/\..*$/, ''));
      if (scan.empty) {
        result.empty.push(src.name);
        log(`${src.name}: empty (no records), left out`);
        doneBytes += src.size;
        bar.update(doneBytes);
        continue;
      }
      if (!userSchema) {
        result.inferredSchemas.push(scan.schema);
        log(`${src.name}: inferred schema ${JSON.stringify(scan.schema)}`);
      }
      let type: Type;
      try {
        type = userSchema?.type ?? forSchema(scan.schema);
      } catch (err) {
        if (err instanceof SchemaWidthError) throw new Error(`${src.name}: ${err.message}; each CSV column or JSON key is a field`, { cause: err });
        throw err;
      }
      const json = userSchema?.json ?? JSON.stringify(scan.schema);
      // User schema fields match source columns by their sanitized name.
      const sourceNames = new Map(scan.fields.map((f) => [f.name, f.name]));
      const jsonTextKeys = new Set(scan.fields.filter((f) => f.type === 'json').map((f) => f.name));
      for (const n of avroFieldNames(scan.fields.map((f) => f.source))) sourceNames.set(n, n);
      const header = scan.headerEnd !== undefined ? await readAll(await src.open({ start: 0, end: scan.headerEnd })) : undefined;
      for (const chunk of scan.chunks) {
        const index = result.partitions++;
        const started = Date.now();
        const out = new AvroObjectWriter(s3, to.bucket, outputKey(dir, index), type, json, { codec: o.codec, sync: syncMarkerFor(`${o.to}/${index}`) });
        let rejects: AvroObjectWriter | undefined;
        const counts = { in: 0, out: 0, rejected: 0, dropped: 0 };
        let w: WrittenObject | undefined;
        let r: WrittenObject | null = null;
        try {
          const body = await src.open({ start: chunk.start, end: chunk.end < 0 ? undefined : chunk.end });
          let i = 0;
          const { source, base } = rejectPlace(src.name, chunk, scan.chunks.indexOf(chunk) === 0);
          for await (const rec of readChunk(src.name, format, body, chunk, scan.fields, header && { header, delimiter: scan.delimiter })) {
            counts.in++;
            let reason: string | undefined;
            let raw: string;
            if (rec.ok) {
              raw = JSON.stringify(rec.value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
              try {
                await out.add(userSchema ? toSchema(rec.value, sourceNames, jsonTextKeys, type) : rec.value);
                counts.out++;
              } catch (err) {
                if (!(err instanceof RecordEncodeError) && !(err instanceof Error && /^field "/.test(err.message))) throw err;
                reason = err.message;
              }
            } else {
              raw = rec.raw;
              reason = rec.reason;
            }
            if (reason !== undefined) {
              rejects ??= new AvroObjectWriter(s3, to.bucket, rejectsKey(dir, index), rejectSchema.type, rejectSchema.json, { codec: o.codec, sync: syncMarkerFor(`${o.to}/${index}/rejects`) });
              await rejects.add({ stage: 'import', partition: partitionId(index), source, index: base + i, reason, record: raw });
              counts.rejected++;
            }
            i++;
          }
          w = await out.finish();
          r = rejects ? await rejects.finish() : null;
        } catch (err) {
          // Nothing retries an import: an upload left open would keep its parts (and their cost) until `gc --uploads`.
          await Promise.all([w ? undefined : out.abort(), r ? undefined : rejects?.abort()]);
          throw err;
        }
        const manifest: PartitionManifest = {
          kind: 'partflow.partition', version: 2, pipeline: 'import', dataset: dir.split('/').pop() ?? dir, stage: 'import', partition: partitionId(index),
          name: `${src.name}#${scan.chunks.indexOf(chunk) + 1}/${scan.chunks.length}`, codeVersion: IMPORT_CODE_VERSION, contentVersion: '', schema: { ref: o.schemaFile ?? 'inferred', fingerprint: schemaFingerprint(type) }, codec: o.codec,
          inputs: [{ url: src.name, etag: '', size: src.size, range: [chunk.start, chunk.end] }],
          output: { url: w.url, bytes: w.bytes, sha256: w.sha256, records: w.records },
          rejects: r && { url: r.url, bytes: r.bytes, sha256: r.sha256, records: r.records },
          counts, run: { workflowId: '', runId: '', activityId: 'cli', attempt: 1 },
          startedAt: new Date(started).toISOString(), finishedAt: new Date().toISOString(), durationMs: Date.now() - started,
        };
        await putIfAbsent(s3, to.bucket, manifestKey(dir, index), JSON.stringify(manifest, null, 1), 'application/json');
        result.records.in += counts.in;
        result.records.out += counts.out;
        result.records.rejected += counts.rejected;
        result.outputs.push(w.url);
      }
      doneBytes += src.size;
      bar.update(doneBytes);
    }
  } finally {
    bar.stop();
  }
  if (result.empty.length === sources.length) throw new Error(`no records under ${o.from}: every file is empty (${result.empty.slice(0, 5).join(', ')}${result.empty.length > 5 ? ` and ${result.empty.length - 5} more` : ''})`);
  return result;
}

// `partflow import` writes a plain folder of numbered partitions, not a dataset of an ingest.
const partName = (index: number) => `part-${String(index).padStart(5, '0')}`;
const partitionId = (index: number) => `p-${String(index).padStart(5, '0')}`;
const outputKey = (dir: string, index: number) => `${dir}/${partName(index)}.avro`;
const rejectsKey = (dir: string, index: number) => `${dir}/_rejects/${partName(index)}.avro`;
const manifestKey = (dir: string, index: number) => `${dir}/_manifests/${partName(index)}.json`;

async function readAll(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}
