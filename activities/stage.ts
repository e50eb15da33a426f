import { Type } from 'avsc';
import { AvroFormatError, UnsupportedAvroError } from '../src/avro/container-reader';
import { SchemaWidthError } from '../src/avro/schema-depth';
import { CodecError } from '../src/avro/codecs';
import { loadSchema } from '../src/avro/schemas';
import { AvroPiece, openAvroPiece } from '../src/io/avro-object-reader';
import { blockDecoder, decodeBlock } from '../src/avro/container-reader';
import { droppedFields } from '../src/avro/dropped-fields';
import { resolutionProblem } from '../src/avro/resolution-problem';
import { fullSchema } from '../src/avro/schema-export';
import { typeForSchema } from '../src/avro/type-cache';
import { DecodeGuardSchemaError, guardedBlocks } from '../src/avro/decode-guard';
import { cachedLookup, checkLookupColumns, lookupFailure } from '../src/io/lookup';
import { PartitionResult } from '../src/manifest/partition';
import { partitionKeys } from '../src/pipeline/layout';
import { packedCannotRead, packedCorruptHint, packedDropsFields, packedInputCannotRead, packedObjectCount } from '../src/pipeline/packed-failures';
import { Plan } from '../src/pipeline/plan';
import { INHERIT_SCHEMA, PipelineInfo, RAW_STAGE, StageDefinition, StageInfo, TransformContext } from '../src/pipeline/types';
import { stageVersion } from '../src/pipeline/versions';
import { headObject, objectExists, ObjectNotFoundError } from '../src/storage/objects';
import { formatS3Url } from '../src/storage/s3url';
import { ActivityDeps, changedInput, isPreconditionFailed, loadPlan, nonRetryable } from './deps';
import { InputPosition, ManifestInput, PartitionRun } from './partition-run';
import { runSetup, stageLookup, transformRecord } from './transform-step';
import { stageDifferences, twoDefinitions, warnStageSkew } from './stage-skew';
import { Context } from '@temporalio/activity';
import { setupGuard } from './user-code-wait';
import { committedOutput } from './resolve';

export interface StageRequest {
  bucket: string;
  planKey: string;
  stage: string;
  index: number;
  /** Content versions of this partition's upstream stages (raw's comes from the plan). */
  upstream?: Record<string, string>;
  /** The first run of this stage of the partition, in a dataset where the stage was empty at planning (see PartitionRun.committed). */
  fresh?: true;
  /** Committed earlier in this ingest: a stage re-run after it asks for its output, which is read, not computed (see committedOutput). */
  resolve?: true;
}

interface InputRef {
  from: string;
  bucket: string;
  key: string;
  /** Source pieces: the ETag the plan saw and the byte range to read. */
  etag?: string;
  size?: number;
  range?: [number, number];
  /** Split Avro pieces: the bytes of their blocks, from planning's walk (absent in plans made before it). */
  blocks?: [number, number];
  /** Upstream outputs: the manifest that commits them, and their content version. */
  manifestKey?: string;
  version?: string;
  /** Read with the upstream stage's declared schema; raw inputs are read with their own (or the pipeline's input schema). */
  readerType?: Type;
}

/** This partition's inputs at a stage, in read order: source pieces, or committed upstream outputs. */
function inputsOf(plan: Plan, pipeline: PipelineInfo, schemasDir: string | undefined, stage: StageInfo, index: number, upstream: Record<string, string>): InputRef[] {
  const p = plan.partitions[index];
  return stage.after.flatMap((dep): InputRef[] => {
    if (dep === RAW_STAGE) {
      if (plan.format !== 'avro') {
        const keys = partitionKeys(plan.targetPrefix, plan.dataset, RAW_STAGE, p.id, p.rawVersion);
        return [{ from: dep, bucket: plan.bucket, key: keys.output, manifestKey: keys.manifest, version: p.rawVersion }];
      }
      const readerType = pipeline.input ? loadSchema(pipeline.input.ref, schemasDir).type : undefined;
      return p.pieces.map((pc) => ({ from: dep, bucket: plan.sourceBucket, key: pc.key, etag: pc.etag, size: pc.size, range: pc.range, ...(pc.blocks ? { blocks: pc.blocks } : {}), readerType }));
    }
    const v = upstream[dep];
    if (!v) throw nonRetryable('InvalidInput', `stage "${stage.name}" partition ${p.id}: the request names no content version for upstream stage "${dep}"`);
    const up = pipeline.stages.find((s) => s.name === dep);
    if (!up) throw nonRetryable('UnknownPipeline', `this worker's pipeline "${pipeline.name}" has no stage "${dep}"`);
    const keys = partitionKeys(plan.targetPrefix, plan.dataset, dep, p.id, v);
    const readerType = up.schemaRef === INHERIT_SCHEMA ? undefined : loadSchema(up.schemaRef, schemasDir).type;
    return [{ from: dep, bucket: plan.bucket, key: keys.output, manifestKey: keys.manifest, version: v, readerType }];
  });
}

/** A partition's content version at a stage as `def` defines it (see stageVersion); undefined when it reads a lookup the plan did not resolve. */
function contentVersionOf(plan: Plan, def: StageInfo, index: number, upstream: Record<string, string>): string | undefined {
  const etags: Record<string, string> = {};
  for (const l of def.lookups) {
    if (!plan.lookups[l]) return undefined;
    etags[l] = plan.lookups[l].etag;
  }
  return stageVersion(def, plan.params, etags, def.after.map((d) => [d, d === RAW_STAGE ? plan.partitions[index].rawVersion : upstream[d] ?? '']));
}

/**
 * Checks an upstream output before reading it: it must be committed (its manifest exists).
 * Source pieces are not looked at first: their reads carry the plan's ETag (If-Match), so a
 * changed object fails the read, and a missing one fails it with 404.
 */
async function checkInput(deps: ActivityDeps, run: PartitionRun, inp: InputRef): Promise<ManifestInput> {
  const url = formatS3Url(inp);
  if (!inp.manifestKey) return { url, etag: inp.etag!, size: inp.size!, ...(inp.range ? { range: inp.range } : {}) };
  // Both at once: two round trips for every input of every partition add up on small partitions.
  const [head, committed] = await Promise.allSettled([headObject(deps.s3, inp.bucket, inp.key), objectExists(deps.s3, inp.bucket, inp.manifestKey)]);
  if (head.status === 'rejected') {
    if (head.reason instanceof ObjectNotFoundError) throw nonRetryable('InputMissing', `${run.where()}: input ${url} does not exist`);
    throw head.reason;
  }
  if (committed.status === 'rejected') throw committed.reason;
  if (!committed.value) {
    throw nonRetryable('InputMissing', `${run.where()}: input ${url} is not committed (no partition manifest); readers trust only committed partitions`);
  }
  return { url, etag: head.value.etag, size: head.value.size, version: inp.version };
}

/**
 * `packed`: the source objects this partition packs. A corrupt one fails them all, so its failure
 * says how to make it fail alone.
 */
async function classify(deps: ActivityDeps, err: unknown, run: PartitionRun, inp: InputRef | undefined, packed: number): Promise<unknown> {
  if (err instanceof AvroFormatError || err instanceof CodecError) {
    const hint = inp && !inp.manifestKey ? packedCorruptHint(packed) : '';
    return nonRetryable('CorruptInput', `${run.where()}: corrupt input: ${err.message}${hint}`, err);
  }
  // A schema too wide to compile (a 100,000-column CSV's, or an Avro header's): every attempt fails alike.
  if (err instanceof UnsupportedAvroError) return nonRetryable('UnsupportedSource', `${run.where()}: unsupported input: ${err.message}`, err);
  if (err instanceof SchemaWidthError) return nonRetryable('UnsupportedSource', `${run.where()}: unsupported input${inp ? ` ${formatS3Url(inp)}` : ''}: ${err.message}`, err);
  // The guard's thread could not build the reader the stage itself built: another attempt builds it alike.
  if (err instanceof DecodeGuardSchemaError) return nonRetryable('SchemaMismatch', `${run.where()}: ${err.message}`, err);
  if (err instanceof ObjectNotFoundError) return nonRetryable('InputMissing', `${run.where()}: input ${formatS3Url({ bucket: err.bucket, key: err.key })} does not exist`);
  if (isPreconditionFailed(err)) {
    if (inp?.etag) return changedInput(deps, inp.bucket, inp.key, inp.etag, run.where());
    return nonRetryable('InputChanged', `${run.where()}: an input changed while it was being read${inp ? `: ${formatS3Url(inp)}` : ''}`);
  }
  return err;
}

/** Runs one pipeline stage over one partition: stream in, transform each record, stream out. */
export function makeStageActivity(deps: ActivityDeps) {
  return async function runStage(req: StageRequest): Promise<PartitionResult> {
    const plan = await loadPlan(deps, req.bucket, req.planKey);
    const entry = deps.registry.get(plan.pipeline);
    const def: StageDefinition | undefined = entry?.def.stages.find((s) => s.name === req.stage);
    const stage = entry?.info.stages.find((s) => s.name === req.stage);
    if (!entry || !def || !stage) {
      throw nonRetryable('UnknownPipeline', `this worker has no stage "${req.stage}" in pipeline "${plan.pipeline}"`);
    }
    const p = plan.partitions[req.index];
    if (!p) throw nonRetryable('InvalidInput', `plan ${req.planKey} has no partition ${req.index}`);
    if (p.unreadable !== undefined && plan.format === 'avro' && stage.after.includes(RAW_STAGE)) {
      // Planning could not walk the object's blocks: nothing can be read until it is replaced (a new ingest).
      throw nonRetryable('CorruptInput', `stage "${req.stage}" partition ${p.id} (${p.name}): corrupt input, found while planning: ${p.unreadable}`);
    }
    const upstream = req.upstream ?? {};
    if (req.resolve) {
      const planned = (plan.stages ?? []).find((s) => s.name === stage.name);
      const wanted = inputsOf(plan, entry.info, entry.def.schemasDir, stage, req.index, upstream);
      const found = await committedOutput(deps, plan, stage.name, req.index, wanted, [planned && contentVersionOf(plan, planned, req.index, upstream), contentVersionOf(plan, stage, req.index, upstream)]);
      if (found) return found;
    }
    // The worker's own code version decides the output: a retry after a deploy runs the new code.
    // A definition other than the planning worker's is said, once per run and stage.
    warnStageSkew(plan, req.planKey, stage);
    for (const l of stage.lookups) {
      if (!plan.lookups[l]) {
        const planned = (plan.stages ?? []).find((s) => s.name === stage.name);
        const differs = planned && !planned.lookups.includes(l)
          ? ` This worker's definition of the stage (version ${stage.version}) differs from the one of the worker that planned the run (version ${planned.version}, `
            + `lookups: ${planned.lookups.join(', ') || 'none'}): ${twoDefinitions(Context.current().info.taskQueue, plan.pipeline)}. `
            + 'Run every worker with one definition, then start a new ingest'
          : ` ${stageDifferences(planned, stage).length ? 'This worker\'s definition of the stage differs from the planning worker\'s. ' : ''}Start a new ingest`;
        throw nonRetryable('InvalidInput', `stage "${req.stage}" reads lookup "${l}", which plan ${req.planKey} did not resolve.${differs}`);
      }
    }
    const version = contentVersionOf(plan, stage, req.index, upstream)!;
    const run = new PartitionRun(deps, plan, {
      stage: stage.name, codeVersion: stage.version, contentVersion: version, keys: partitionKeys(plan.targetPrefix, plan.dataset, stage.name, p.id, version),
      schemaRef: stage.schemaRef, schemaFingerprint: stage.schemaFingerprint, codec: stage.codec,
    }, req.index);
    const done = await run.committed(req.fresh);
    if (done) return done;

    const inputs = inputsOf(plan, entry.info, entry.def.schemasDir, stage, req.index, upstream);
    const packed = packedObjectCount(inputs.filter((i) => !i.manifestKey).map((i) => i.key));
    const manifestInputs: ManifestInput[] = [];
    for (const inp of inputs) manifestInputs.push(await checkInput(deps, run, inp));
    const state = def.setup
      ? await runSetup(run.where(), () => def.setup!({
        pipeline: plan.pipeline, stage: req.stage, partition: run.id, partitionName: run.name, params: plan.params, log: run.log,
        lookup: stageLookup(plan.pipeline, req.stage, stage.lookups, (name) => {
          const l = plan.lookups[name];
          const columns = entry.def.lookups?.[name]?.columns;
          return l ? (cachedLookup(deps.s3, l) as Promise<Record<string, unknown>[]>).then((table) => {
            if (columns) checkLookupColumns(table, columns, formatS3Url(l));
            return table;
          }).catch((err) => {
            throw lookupFailure(name, err);
          }) : undefined;
        }),
      }), setupGuard(run, plan.pipeline))
      : undefined;

    let current: InputRef | undefined;
    const open = (k: number, at?: number) => {
      current = inputs[k];
      return openAvroPiece(deps.s3, inputs[k].bucket, inputs[k].key, { range: inputs[k].range, blocks: inputs[k].blocks, at }, { ifMatch: manifestInputs[k].etag });
    };
    // The first input, opened early to learn its schema: read on from there rather than opened
    // again (a second GET, and a connection lost to the abandoned response).
    let first: AvroPiece | undefined;
    try {
      const inherit = stage.schemaRef === INHERIT_SCHEMA;
      // The schema written is the stage's, or for "@input" stages the (reader) schema of the first
      // input; later pieces with other writer schemas are resolved into it.
      let outSchema: string | undefined;
      // Set when the output schema is only the first input's: then no later input may lose fields to it.
      let inheritedFrom: string | undefined;
      if (inherit) {
        if (!inputs[0].readerType) {
          first = await open(0);
          const t = typeForSchema(first.reader.header.schemaJson, { wrapUnions: 'auto' });
          for (const inp of inputs) if (inp.from === inputs[0].from) inp.readerType = t;
          outSchema = first.reader.header.schemaJson;
          inheritedFrom = inputs[0].from;
        } else outSchema = JSON.stringify(fullSchema(inputs[0].readerType));
      }
      let from: InputPosition = { input: 0, blockOffset: 0, skip: 0, blockFirstIndex: 0 };
      const cp = run.previousCheckpoint();
      if (cp && (await run.resume(cp, outSchema))) from = cp.position;
      else run.openOutput(outSchema);

      const ctx: TransformContext = {
        pipeline: plan.pipeline, stage: req.stage, partition: run.id, partitionName: run.name, input: '', recordIndex: 0, state, params: plan.params, log: run.log,
      };
      for (let k = from.input; k < inputs.length; k++) {
        const inp = inputs[k];
        ctx.input = inp.from;
        const resumeHere = k === from.input && from.blockOffset > 0;
        const reuse = k === 0 && !resumeHere ? first : undefined;
        if (!reuse) first?.reader.close();
        first = undefined;
        const { reader, end } = reuse ? ((current = inputs[0]), reuse) : await open(k, resumeHere ? from.blockOffset : undefined);
        // Rejects name the object (and the byte range of a split) and the record's index in that piece.
        const label = inp.range && inp.range[0] > 0 ? `${manifestInputs[k].url}#bytes=${inp.range[0]}-${inp.range[1]}` : manifestInputs[k].url;
        let decoder;
        try {
          decoder = blockDecoder(reader.header.writerType, inp.readerType);
        } catch (err) {
          reader.close();
          // avsc names only the two types: the field where they differ says what to fix.
          const problem = (inp.readerType && resolutionProblem(inp.readerType, reader.header.writerType)) ?? (err as Error).message;
          throw nonRetryable('SchemaMismatch', inheritedFrom !== undefined && inp.from === inheritedFrom
            ? packedCannotRead(run.where(), manifestInputs[k].url, manifestInputs[0].url, problem)
            : packedInputCannotRead(run.where(), manifestInputs[k].url, inp.manifestKey ? 1 : packed, problem));
        }
        if (inheritedFrom !== undefined && inp.from === inheritedFrom && reader.header.schemaJson !== outSchema) {
          const dropped = droppedFields(reader.header.writerType, inp.readerType!);
          if (dropped.length) {
            reader.close();
            throw nonRetryable('SchemaMismatch', packedDropsFields(run.where(), manifestInputs[k].url, manifestInputs[0].url, dropped));
          }
        }
        let firstIndex = resumeHere ? from.blockFirstIndex : 0;
        try {
          // A committed output of an upstream stage was written by partflow's own encoder from
          // records that decoded here, and is read at the ETag its manifest recorded: only the
          // sources, which anyone may have written, pay for the guard's second decode.
          const blocks = inp.manifestKey ? reader.blocks() : guardedBlocks(reader, inp.readerType, end);
          for await (const block of blocks) {
            if (block.offset >= end) break;
            const records = decodeBlock(reader.opts.name, block, decoder);
            const skip = resumeHere && block.offset === from.blockOffset ? from.skip : 0;
            run.progress = { input: label, offset: block.offset };
            for (let j = skip; j < records.length; j++) {
              const turn = run.tick();
              if (turn) await turn;
              const pending = transformRecord(def, records[j], ctx, run, label, firstIndex + j);
              if (pending) await pending;
              if (run.partCompleted) await run.checkpoint({ input: k, blockOffset: block.offset, skip: j + 1, blockFirstIndex: firstIndex });
            }
            firstIndex += records.length;
          }
          // Fewer bytes than a block header after the last block hold no record (avro-js's own
          // test files end so); they are tolerated as other readers do, and said.
          if (reader.trailingBytes) run.log.warn({ input: reader.opts.name, trailingBytes: reader.trailingBytes }, 'input has bytes after its last block, too few for a block header: ignored');
        } finally {
          reader.close();
        }
      }
    } catch (err) {
      throw await run.failed(await classify(deps, err, run, current, packed));
    } finally {
      first?.reader.close();
    }
    return run.commit(manifestInputs);
  };
}
