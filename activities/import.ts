import { DEFAULT_CODEC } from '../src/pipeline/dag';
import { Readable } from 'node:stream';
import { FlatFileError, readChunk } from '../src/formats/flat';
import { openFlatSource } from '../src/formats/source';
import { RecordEncodeError } from '../src/io/avro-object-writer';
import { RAW_STAGE } from '../src/pipeline/types';
import { PartitionResult } from '../src/manifest/partition';
import { getObjectStream, headObject, ObjectNotFoundError } from '../src/storage/objects';
import { formatS3Url } from '../src/storage/s3url';
import { ActivityDeps, loadPlan, nonRetryable } from './deps';
import { PartitionRun } from './partition-run';

export interface ImportRequest {
  bucket: string;
  planKey: string;
  index: number;
}

function isPreconditionFailed(err: unknown): boolean {
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 412;
}

async function changed(deps: ActivityDeps, bucket: string, key: string, expected: string, where: string) {
  const actual = await headObject(deps.s3, bucket, key).then((h) => h.etag, () => '(gone)');
  return nonRetryable('InputChanged', `${where}: source object ${formatS3Url({ bucket, key })} changed since planning: expected checksum (ETag) ${expected}, found ${actual}; start a new ingest`);
}

/** Turns one chunk of a flat source file into one raw Avro partition. */
export function makeImportActivity(deps: ActivityDeps) {
  return async function importPartition(req: ImportRequest): Promise<PartitionResult> {
    const plan = await loadPlan(deps, req.bucket, req.planKey);
    const p = plan.partitions[req.index];
    if (!p || p.schema === undefined || !plan.raw.dir) throw nonRetryable('InvalidInput', `plan ${req.planKey} has no flat-file partition ${req.index}`);
    const schema = plan.rawSchemas[p.schema];
    const run = new PartitionRun(deps, plan, {
      stage: RAW_STAGE, codeVersion: 'import-1', outputVersion: plan.raw.version, dir: plan.raw.dir,
      schemaRef: `inferred:${p.source.key}`, schemaFingerprint: '', codec: DEFAULT_CODEC,
    }, req.index);
    const done = await run.committed();
    if (done) return done;

    const name = formatS3Url({ bucket: plan.sourceBucket, key: p.source.key });
    // Resume where the previous attempt's last checkpoint was: a record boundary of the chunk.
    const cp = run.previousCheckpoint();
    let from = p.start!;
    let i = 0;
    if (cp && (await run.resume(cp, schema.json))) {
      from = cp.position.blockOffset;
      i = cp.position.blockFirstIndex;
    } else run.openOutput(schema.json);
    try {
      let header: Buffer | undefined;
      if (p.format === 'csv') {
        header = Buffer.alloc(0);
        const hs = await openFlatSource(deps.s3, plan.sourceBucket, p.source.key, { start: 0, end: schema.headerEnd! }, p.source.etag);
        for await (const c of hs) header = Buffer.concat([header, c as Buffer]);
      }
      const body: Readable = p.format === 'json'
        ? await openFlatSource(deps.s3, plan.sourceBucket, p.source.key, undefined, p.source.etag, () => run.beat())
        : await openFlatSource(deps.s3, plan.sourceBucket, p.source.key, { start: from, end: p.end! < 0 ? undefined : p.end! }, p.source.etag, () => run.beat());
      const chunk = { start: from, end: p.end!, records: p.records! };
      for await (const rec of readChunk(name, p.format as 'csv', body, chunk, schema.fields, header)) {
        run.counts.in++;
        if (rec.ok) {
          try {
            const pending = run.out(rec.value);
            if (pending) await pending;
          } catch (err) {
            if (!(err instanceof RecordEncodeError)) throw err;
            await run.reject(name, i, `does not fit the raw schema: ${err.message}`, JSON.stringify(rec.value));
          }
        } else {
          await run.reject(name, i, rec.reason, rec.raw);
        }
        i++;
        if (run.partCompleted && rec.end !== undefined) {
          // csv/jsonl positions are byte offsets into the body, which starts at `from`; json's are element indexes.
          run.checkpoint({ input: 0, blockOffset: p.format === 'json' ? rec.end : from + rec.end, skip: 0, blockFirstIndex: i });
        }
        if ((i & 1023) === 0) {
          run.beat({ records: i });
          run.throwIfCancelled();
        }
      }
    } catch (err) {
      let failure: unknown = err;
      if (err instanceof ObjectNotFoundError) failure = nonRetryable('InputMissing', `${run.where()}: source object ${name} no longer exists`);
      else if (isPreconditionFailed(err)) failure = await changed(deps, plan.sourceBucket, p.source.key, p.source.etag, run.where());
      else if (err instanceof FlatFileError) failure = nonRetryable('CorruptInput', `${run.where()}: ${err.message}`, err);
      await run.abortIfFinal(failure);
      throw failure;
    }
    return run.commit([{
      url: name, etag: p.source.etag, size: p.source.size, range: [p.start!, p.end!],
    }]);
  };
}
