import { DEFAULT_CODEC } from '../src/pipeline/dag';
import { Readable } from 'node:stream';
import { FlatFileError } from '../src/formats/flat';
import { readChunk, readJsonElements, rejectPlace } from '../src/formats/flat-read';
import { jsonText } from '../src/formats/json-value';
import { openFlatSource } from '../src/formats/source';
import { RecordEncodeError } from '../src/io/avro-object-writer';
import { partitionKeys } from '../src/pipeline/layout';
import { packedCorruptHint, packedObjectCount } from '../src/pipeline/packed-failures';
import { IMPORT_CODE_VERSION } from '../src/pipeline/versions';
import { RAW_STAGE } from '../src/pipeline/types';
import { PartitionResult } from '../src/manifest/partition';
import { ObjectNotFoundError } from '../src/storage/objects';
import { formatS3Url } from '../src/storage/s3url';
import { ActivityDeps, changedInput, isPreconditionFailed, loadPlan, nonRetryable } from './deps';
import { importKafkaPartition } from './kafka-import';
import { jsonByElements } from './plan-reuse';
import { PartitionRun } from './partition-run';
import { SchemaWidthError } from '../src/avro/schema-depth';
import type { ApplicationFailure } from '@temporalio/common';

export interface ImportRequest {
  bucket: string;
  planKey: string;
  index: number;
  /** The first run of this partition's import into a dataset whose raw stage was empty at planning (see PartitionRun.committed). */
  fresh?: true;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** Turns the pieces of one flat-file partition (chunks or whole small files) into one raw Avro object. */
export function makeImportActivity(deps: ActivityDeps) {
  return async function importPartition(req: ImportRequest): Promise<PartitionResult> {
    const plan = await loadPlan(deps, req.bucket, req.planKey);
    if (plan.kafka && plan.partitions[req.index]) return importKafkaPartition(deps, plan, req.index, req.fresh);
    const p = plan.partitions[req.index];
    if (p?.unreadable !== undefined) {
      // Planning could not read the object: nothing can be imported until it is replaced (a new ingest).
      throw nonRetryable('CorruptInput', `stage "${RAW_STAGE}" partition ${p.id} (${p.name}): corrupt input, found while planning: ${p.unreadable}`);
    }
    if (!p || p.schema === undefined || plan.format === 'avro' || plan.format === 'kafka') throw nonRetryable('InvalidInput', `plan ${req.planKey} has no flat-file partition ${req.index}`);
    const schema = plan.rawSchemas[p.schema];
    const run = new PartitionRun(deps, plan, {
      stage: RAW_STAGE, codeVersion: IMPORT_CODE_VERSION, contentVersion: p.rawVersion, keys: partitionKeys(plan.targetPrefix, plan.dataset, RAW_STAGE, p.id, p.rawVersion),
      schemaRef: `inferred:${p.pieces[0].key}`, schemaFingerprint: '', codec: DEFAULT_CODEC,
    }, req.index);
    const done = await run.committed(req.fresh);
    if (done) return done;

    // Resume where the previous attempt's last checkpoint was: a record boundary of one piece.
    const cp = run.previousCheckpoint();
    let resumed = false;
    try {
      resumed = cp !== null && (await run.resume(cp, schema.json));
      if (!resumed) run.openOutput(schema.json);
    } catch (err) {
      // The inferred schema is compiled here, before any record is read.
      throw await run.failed(tooWide(err, run, formatS3Url({ bucket: plan.sourceBucket, key: p.pieces[0].key })) ?? err);
    }
    const format = plan.format;
    // A plan made before .json chunks were byte ranges, whose run goes on after an upgrade.
    const elements = jsonByElements(plan);
    let k = resumed ? cp!.position.input : 0;
    try {
      for (; k < p.pieces.length; k++) {
        const pc = p.pieces[k];
        const name = formatS3Url({ bucket: plan.sourceBucket, key: pc.key });
        const here = resumed && k === cp!.position.input;
        const [start, end] = pc.range ?? [0, -1];
        const from = here ? cp!.position.blockOffset : start;
        let i = here ? cp!.position.blockFirstIndex : 0;
        let header: Buffer | undefined;
        // Gzip sources are decompressed as they stream; their offsets count decompressed bytes.
        if (format === 'csv') header = await readAll(await openFlatSource(deps.s3, plan.sourceBucket, pc.key, { start: 0, end: pc.headerEnd ?? 0 }, pc.etag));
        const body: Readable = elements
          ? await openFlatSource(deps.s3, plan.sourceBucket, pc.key, undefined, pc.etag, () => run.beat())
          : await openFlatSource(deps.s3, plan.sourceBucket, pc.key, { start: from, end: end < 0 ? undefined : end }, pc.etag, () => run.beat());
        const chunk = { start: from, end, records: pc.records ?? 0 };
        const { source, base } = elements ? { source: name, base: start } : rejectPlace(name, { start, end }, !pc.range || start <= (pc.headerEnd ?? 0));
        const records = elements
          ? readJsonElements(name, body, chunk, schema.fields)
          : readChunk(name, format, body, chunk, schema.fields, header && { header, delimiter: pc.delimiter });
        for await (const rec of records) {
          const turn = run.tick();
          if (turn) await turn;
          run.counts.in++;
          if (rec.ok) {
            try {
              const pending = run.out(rec.value);
              if (pending) await pending;
            } catch (err) {
              if (!(err instanceof RecordEncodeError)) throw err;
              await run.reject(source, base + i, `does not fit the raw schema: ${err.message}`, jsonText(rec.value));
            }
          } else {
            await run.reject(source, base + i, rec.reason, rec.raw);
          }
          i++;
          if (run.partCompleted && rec.end !== undefined) {
            // Positions are byte offsets into the body, which starts at `from`; an older plan's json ones are element indexes.
            await run.checkpoint({ input: k, blockOffset: elements ? rec.end : from + rec.end, skip: 0, blockFirstIndex: i });
          }
        }
      }
    } catch (err) {
      let failure: unknown = err;
      const pc = p.pieces[Math.min(k, p.pieces.length - 1)];
      const name = formatS3Url({ bucket: plan.sourceBucket, key: pc.key });
      if (err instanceof ObjectNotFoundError) failure = nonRetryable('InputMissing', `${run.where()}: source object ${name} no longer exists`);
      else if (isPreconditionFailed(err)) failure = await changedInput(deps, plan.sourceBucket, pc.key, pc.etag, run.where());
      else if (err instanceof SchemaWidthError) failure = tooWide(err, run, name);
      else if (err instanceof FlatFileError) failure = nonRetryable('CorruptInput', `${run.where()}: ${err.message}${packedCorruptHint(packedObjectCount(p.pieces.map((x) => x.key)))}`, err);
      throw await run.failed(failure);
    }
    return run.commit(p.pieces.map((pc) => ({
      url: formatS3Url({ bucket: plan.sourceBucket, key: pc.key }), etag: pc.etag, size: pc.size, ...(pc.range ? { range: pc.range } : {}),
    })));
  };
}

/** One field per column or key, too many for the Avro library to compile: every attempt fails alike. */
function tooWide(err: unknown, run: PartitionRun, name: string): ApplicationFailure | undefined {
  if (!(err instanceof SchemaWidthError)) return undefined;
  return nonRetryable('UnsupportedSource', `${run.where()}: unsupported input ${name}: ${err.message}; each CSV column or JSON key is a field`, err);
}
