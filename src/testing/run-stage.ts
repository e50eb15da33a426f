import { Type } from 'avsc';
import path from 'node:path';
import { runSetup, RecordSink, stageLookup, transformRecord } from '../../activities/transform-step';
import { loadSchema } from '../avro/schemas';
import { chooseSchemasDir, defaultSchemasPlaces } from '../api/schemas-dirs';
import { checkLookupColumns, lookupFailure } from '../io/lookup';
import { logger } from '../log';
import type { RecordCounts } from '../manifest/partition';
import { checkPipeline } from '../pipeline/dag';
import { INHERIT_SCHEMA, PipelineDefinition, StageDefinition, TransformContext } from '../pipeline/types';
import type { Stage } from '../api/define';
import { MemoryAvro } from './memory-avro';

export interface RunStageOptions {
  /** The upstream stage the records come from (the transform's ctx.input); default the stage's first. */
  input?: string;
  /** The ingest's params (ctx.params). */
  params?: Record<string, string>;
  /** Lookup tables by name, as plain records: what setup()'s lookup(name) returns. */
  lookups?: Record<string, Record<string, unknown>[]>;
  /**
   * Where the pipeline's schemas are: default the pipeline's schemasDir, else the schemas/ folder
   * of the project of the script node runs (the nearest package.json above it; not one under
   * node_modules, such as a test runner's), else ./schemas of the current directory.
   */
  schemasDir?: string;
  /** For "@input" stages: the schema of the records given ("name" or "name@N"); without it their output is not schema-checked. */
  inputSchema?: string;
  /** Partition id and name the context reports (defaults "p-test" and "test"). */
  partition?: string;
  partitionName?: string;
}

/** A rejected record, as the real run writes it to the partition's rejects object. */
export interface StageReject {
  stage: string;
  partition: string;
  /** Where the record came from: here the input's name. */
  source: string;
  /** The record's 0-based index in the records given. */
  index: number;
  reason: string;
  /** The original record as JSON. */
  record: string;
}

export interface RunStageResult<Out> {
  /** The output records as a downstream stage reads them back (encoded with the stage's schema and decoded), as plain objects. */
  output: Out[];
  rejects: StageReject[];
  /** in = out + rejected + dropped, as in the partition manifest. */
  counts: RecordCounts;
}

function defaultSchemasDir(p: PipelineDefinition, opts: RunStageOptions): string {
  if (opts.schemasDir) return path.resolve(opts.schemasDir);
  if (p.schemasDir) return p.schemasDir;
  return chooseSchemasDir(defaultSchemasPlaces());
}

/** Collects what the stage writes in memory, encoded into an Avro container the way the output object is. */
class MemorySink implements RecordSink {
  readonly counts: RecordCounts = { in: 0, out: 0, rejected: 0, dropped: 0 };
  readonly rejects: StageReject[] = [];
  private readonly avro?: MemoryAvro;
  private readonly passed: unknown[] = [];

  constructor(private readonly stage: string, private readonly partition: string, private readonly partitionName: string, readonly outputType?: Type) {
    if (outputType) this.avro = new MemoryAvro(outputType, `${stage} output`);
  }

  out(record: unknown): undefined {
    if (this.avro) this.avro.add(record);
    else this.passed.push(record);
    this.counts.out++;
    return undefined;
  }

  drop(): void {
    this.counts.dropped++;
  }

  async reject(source: string, index: number, reason: string, record: string): Promise<void> {
    this.rejects.push({ stage: this.stage, partition: this.partition, source, index, reason: reason.slice(0, 4096), record });
    this.counts.rejected++;
  }

  where(): string {
    return `stage "${this.stage}" partition ${this.partition} (${this.partitionName})`;
  }

  async output(): Promise<unknown[]> {
    return this.avro ? this.avro.records() : this.passed;
  }
}

/**
 * Runs one stage's transform over in-memory records, with no servers: setup (with lookups),
 * transform, and the stage's output schema, through the same code as a worker's stage
 * activity. Rejects, drops and counts come back as a real run records them. A PartitionError
 * (or a failing setup) rejects the promise with the error the activity would fail with.
 */
export async function runStage<In, Out>(pipeline: PipelineDefinition, stage: Stage<In, Out>, records: Iterable<In> | AsyncIterable<In>, opts?: RunStageOptions): Promise<RunStageResult<Out>>;
export async function runStage(pipeline: PipelineDefinition, stage: string, records: Iterable<any> | AsyncIterable<any>, opts?: RunStageOptions): Promise<RunStageResult<any>>;
export async function runStage(pipeline: PipelineDefinition, stage: string | StageDefinition, records: Iterable<unknown> | AsyncIterable<unknown>, opts: RunStageOptions = {}): Promise<RunStageResult<unknown>> {
  const schemasDir = defaultSchemasDir(pipeline, opts);
  const p = { ...pipeline, schemasDir };
  const info = checkPipeline(p);
  const name = typeof stage === 'string' ? stage : stage.name;
  const def = p.stages.find((s) => s.name === name);
  const si = info.stages.find((s) => s.name === name);
  if (!def || !si) throw new Error(`pipeline "${p.name}" has no stage "${name}" (it has ${p.stages.map((s) => s.name).join(', ')})`);
  // The pipeline's stage is what a worker runs: a different object of the same name (an edited copy) would be tested in its place.
  if (typeof stage !== 'string' && stage !== def) throw new Error(`runStage: the stage object given is not pipeline "${p.name}"'s stage "${name}": pass the object in its stages, or the stage's name`);
  const input = opts.input ?? si.after[0];
  if (!si.after.includes(input)) throw new Error(`stage "${name}" does not read "${input}" (it reads ${si.after.join(', ')})`);

  const schemaRef = si.schemaRef === INHERIT_SCHEMA ? opts.inputSchema : si.schemaRef;
  const outputType = schemaRef ? loadSchema(schemaRef, schemasDir).type : undefined;
  const partition = opts.partition ?? 'p-test';
  const partitionName = opts.partitionName ?? 'test';
  const sink = new MemorySink(name, partition, partitionName, outputType);
  const params = opts.params ?? {};
  const log = logger().child({ pipeline: p.name, stage: name, partition });
  const state = def.setup
    ? await runSetup(sink.where(), () => def.setup!({
      pipeline: p.name, stage: name, partition, partitionName, params, log,
      lookup: stageLookup(p.name, name, si.lookups, (l) => {
        if (!info.lookups.includes(l)) return undefined;
        const rows = opts.lookups?.[l];
        if (!rows) return Promise.reject(new Error(`runStage: no records given for lookup "${l}" (pass them in options.lookups)`));
        // Frozen copies, as a worker shares its tables between partitions: a setup that changes them fails here too.
        const table = Object.freeze(rows.map((r) => Object.freeze({ ...r }))) as Record<string, unknown>[];
        // The columns the pipeline declares are checked as a real run checks the loaded table.
        const columns = p.lookups?.[l]?.columns;
        try {
          if (columns) checkLookupColumns(table, columns, `options.lookups.${l}`);
        } catch (err) {
          return Promise.reject(lookupFailure(l, err));
        }
        return Promise.resolve(table);
      }),
    }))
    : undefined;
  const ctx: TransformContext = { pipeline: p.name, stage: name, partition, partitionName, input, recordIndex: 0, state, params, log };
  let index = 0;
  for await (const record of records) {
    const pending = transformRecord(def, record, ctx, sink, input, index++);
    if (pending) await pending;
  }
  return { output: await sink.output(), rejects: sink.rejects, counts: sink.counts };
}
