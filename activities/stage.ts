import { Type } from 'avsc';
import { AvroFormatError } from '../src/avro/container';
import { CodecError } from '../src/avro/codecs';
import { loadSchema } from '../src/avro/schemas';
import { openAvroObject, openAvroObjectAt } from '../src/io/avro-object-reader';
import { blockDecoder, decodeBlock } from '../src/avro/container';
import { RecordEncodeError } from '../src/io/avro-object-writer';
import { loadLookup } from '../src/io/lookup';
import { PartitionResult } from '../src/manifest/partition';
import { manifestKey, outputKey } from '../src/pipeline/layout';
import { Plan } from '../src/pipeline/plan';
import { INHERIT_SCHEMA, isPartitionError, PartitionError, RAW_STAGE, StageDefinition, TransformContext } from '../src/pipeline/types';
import { ApplicationFailure } from '@temporalio/common';
import { headObject, objectExists, ObjectNotFoundError } from '../src/storage/objects';
import { formatS3Url } from '../src/storage/s3url';
import { ActivityDeps, FailureTypes, loadPlan, nonRetryable } from './deps';
import { InputPosition, ManifestInput, PartitionRun } from './partition-run';

export interface StageRequest {
  bucket: string;
  planKey: string;
  stage: string;
  index: number;
}

interface InputRef {
  from: string;
  bucket: string;
  key: string;
  /** Read with the upstream stage's declared schema; raw inputs are read with their own. */
  readerType?: Type;
}

function inputsOf(plan: Plan, deps: ActivityDeps, stageName: string, index: number): InputRef[] {
  const stage = plan.stages.find((s) => s.name === stageName)!;
  const schemasDir = deps.registry.get(plan.pipeline)?.def.schemasDir;
  return stage.after.map((dep) => {
    if (dep === RAW_STAGE) {
      if (plan.raw.dir) return { from: dep, bucket: plan.bucket, key: outputKey(plan.raw.dir, index) };
      const input = deps.registry.get(plan.pipeline)?.info.input;
      return { from: dep, bucket: plan.sourceBucket, key: plan.partitions[index].source.key, readerType: input && loadSchema(input.ref, schemasDir).type };
    }
    const up = plan.stages.find((s) => s.name === dep)!;
    return { from: dep, bucket: plan.bucket, key: outputKey(up.dir, index), readerType: loadSchema(up.schemaRef, schemasDir).type };
  });
}

/** A record as JSON for the rejects object (bytes as base64, longs beyond 2^53 as strings). */
function recordText(record: unknown): string {
  return JSON.stringify(record, (_k, v) => {
    if (typeof v === 'bigint') return v.toString();
    if (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
      return Buffer.from((v as { data: number[] }).data).toString('base64');
    }
    return v;
  }) ?? String(record);
}

function invalidReason(type: Type, value: unknown): string {
  const problems: string[] = [];
  type.isValid(value, {
    errorHook: (path: string[], v: unknown, t: Type) => {
      if (problems.length < 3) problems.push(`${path.join('.') || '(record)'}: ${JSON.stringify(v) ?? String(v)} is not a valid ${t.typeName ?? String(t)}`);
    },
  });
  return `output does not match schema: ${problems.join('; ') || 'invalid value'}`;
}

/**
 * Checks an input before reading it: an upstream partition must be committed (its manifest
 * exists), and a source object must still be the one the plan saw.
 */
async function checkInput(deps: ActivityDeps, plan: Plan, run: PartitionRun, inp: InputRef, index: number): Promise<ManifestInput> {
  const url = formatS3Url(inp);
  let head;
  try {
    head = await headObject(deps.s3, inp.bucket, inp.key);
  } catch (err) {
    if (err instanceof ObjectNotFoundError) throw nonRetryable('InputMissing', `${run.where()}: input ${url} does not exist`);
    throw err;
  }
  if (inp.from === RAW_STAGE && !plan.raw.dir) {
    const expected = plan.partitions[index].source.etag;
    if (head.etag !== expected) {
      throw nonRetryable('InputChanged', `${run.where()}: source object ${url} changed since planning: expected checksum (ETag) ${expected}, found ${head.etag}`);
    }
  } else {
    const dir = inp.key.slice(0, inp.key.lastIndexOf('/'));
    if (!(await objectExists(deps.s3, inp.bucket, manifestKey(dir, index)))) {
      throw nonRetryable('InputMissing', `${run.where()}: input ${url} is not committed (no partition manifest); readers trust only committed partitions`);
    }
  }
  return { url, etag: head.etag, size: head.size };
}

/** Setup failures fail the attempt (retryable unless a PartitionError says otherwise), naming the partition. */
async function runSetup(run: PartitionRun, setup: () => unknown): Promise<unknown> {
  try {
    return await setup();
  } catch (err) {
    const nonRetryable = isPartitionError(err) && !err.retryable;
    throw ApplicationFailure.create({
      type: FailureTypes.TransformFailed, message: `${run.where()}: stage setup failed: ${(err as Error)?.message ?? String(err)}`, nonRetryable, cause: err as Error,
    });
  }
}

/** A transform gave up on the whole partition: fail the attempt, retryable or not as it said. */
function transformFailed(err: PartitionError, run: PartitionRun, input: string, index: number): ApplicationFailure {
  const message = `${run.where()}: transform failed the partition at record ${index} of ${input}: ${err.message}`;
  return ApplicationFailure.create({ type: FailureTypes.TransformFailed, message, nonRetryable: !err.retryable, cause: err });
}

function classify(err: unknown, run: PartitionRun): unknown {
  if (err instanceof AvroFormatError || err instanceof CodecError) {
    return nonRetryable('CorruptInput', `${run.where()}: corrupt input: ${err.message}`, err);
  }
  if ((err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 412) {
    return nonRetryable('InputChanged', `${run.where()}: an input changed while it was being read`);
  }
  return err;
}

/** Runs one pipeline stage over one partition: stream in, transform each record, stream out. */
export function makeStageActivity(deps: ActivityDeps) {
  return async function runStage(req: StageRequest): Promise<PartitionResult> {
    const plan = await loadPlan(deps, req.bucket, req.planKey);
    const planned = plan.stages.find((s) => s.name === req.stage);
    const entry = deps.registry.get(plan.pipeline);
    const def: StageDefinition | undefined = entry?.def.stages.find((s) => s.name === req.stage);
    if (!planned || !entry || !def) {
      throw nonRetryable('UnknownPipeline', `this worker has no stage "${req.stage}" in pipeline "${plan.pipeline}"`);
    }
    if (def.version !== planned.version) {
      // The plan fixed the output version; code of another version must not write there.
      throw new Error(`stage "${req.stage}" is version ${def.version} on this worker but the plan expects ${planned.version}; waiting for a matching worker`);
    }
    const run = new PartitionRun(deps, plan, {
      stage: planned.name, codeVersion: planned.version, outputVersion: planned.outputVersion, dir: planned.dir,
      schemaRef: planned.schemaRef, schemaFingerprint: planned.schemaFingerprint, codec: planned.codec,
    }, req.index);
    const done = await run.committed();
    if (done) return done;

    const inputs = inputsOf(plan, deps, req.stage, req.index);
    const manifestInputs: ManifestInput[] = [];
    for (const inp of inputs) manifestInputs.push(await checkInput(deps, plan, run, inp, req.index));
    const lookupCache = new Map<string, Promise<Record<string, unknown>[]>>();
    const state = def.setup
      ? await runSetup(run, () => def.setup!({
        pipeline: plan.pipeline, stage: req.stage, partition: run.id, params: plan.params, log: run.log,
        lookup: (name) => {
          const l = plan.lookups[name];
          if (!l) return Promise.reject(new Error(`pipeline "${plan.pipeline}" declares no lookup "${name}"`));
          let p = lookupCache.get(name);
          if (!p) lookupCache.set(name, (p = loadLookup(deps.s3, l)));
          return p;
        },
      }))
      : undefined;

    const inherit = planned.schemaRef === INHERIT_SCHEMA;
    // The schema written is the stage's, or for "@input" stages the (reader) schema of the input.
    const inheritedSchema = async () => {
      if (inputs[0].readerType) return JSON.stringify(inputs[0].readerType.schema({ exportAttrs: true }));
      const r = await openAvroObject(deps.s3, inputs[0].bucket, inputs[0].key, { ifMatch: manifestInputs[0].etag });
      r.close();
      return r.header.schemaJson;
    };
    const outSchema = inherit ? await inheritedSchema() : undefined;
    let from: InputPosition = { input: 0, blockOffset: 0, skip: 0, blockFirstIndex: 0 };
    const cp = run.previousCheckpoint();
    if (cp && (await run.resume(cp, outSchema))) from = cp.position;
    else run.openOutput(outSchema);

    const ctx: TransformContext = {
      pipeline: plan.pipeline, stage: req.stage, partition: run.id, input: '', recordIndex: 0, state, params: plan.params, log: run.log,
    };
    try {
      for (let k = from.input; k < inputs.length; k++) {
        const inp = inputs[k];
        ctx.input = inp.from;
        const resumeHere = k === from.input && from.blockOffset > 0;
        const reader = resumeHere
          ? await openAvroObjectAt(deps.s3, inp.bucket, inp.key, from.blockOffset, { ifMatch: manifestInputs[k].etag })
          : await openAvroObject(deps.s3, inp.bucket, inp.key, { ifMatch: manifestInputs[k].etag });
        let decoder;
        try {
          decoder = blockDecoder(reader.header.writerType, inp.readerType);
        } catch (err) {
          throw nonRetryable('SchemaMismatch', `${run.where()}: input ${manifestInputs[k].url} cannot be read with the expected schema: ${(err as Error).message}`);
        }
        let firstIndex = resumeHere ? from.blockFirstIndex : 0;
        for await (const block of reader.blocks()) {
          const records = decodeBlock(reader.opts.name, block, decoder);
          const skip = resumeHere && block.offset === from.blockOffset ? from.skip : 0;
          for (let j = skip; j < records.length; j++) {
            const record = records[j];
            const index = firstIndex + j;
            run.counts.in++;
            ctx.recordIndex = index;
            let out: unknown;
            try {
              out = def.transform(record, ctx);
              if (out instanceof Promise) out = await out;
            } catch (err) {
              if (isPartitionError(err)) throw transformFailed(err, run, manifestInputs[k].url, index);
              await run.reject(inp.from, index, (err as Error)?.message ?? String(err), recordText(record));
              continue;
            }
            if (out === null || out === undefined) {
              run.drop();
              continue;
            }
            try {
              const pending = run.out(out);
              if (pending) await pending;
            } catch (err) {
              if (!(err instanceof RecordEncodeError)) throw err;
              await run.reject(inp.from, index, invalidReason(run.outputType!, out), recordText(record));
            }
            if (run.partCompleted) run.checkpoint({ input: k, blockOffset: block.offset, skip: j + 1, blockFirstIndex: firstIndex });
          }
          firstIndex += records.length;
          run.beat({ input: inp.from, offset: block.end });
          run.throwIfCancelled();
        }
      }
    } catch (err) {
      const failure = classify(err, run);
      await run.abortIfFinal(failure);
      throw failure;
    }
    return run.commit(manifestInputs);
  };
}
