import { ApplicationFailure } from '@temporalio/common';
import type { Type } from 'avsc';
import { RecordEncodeError } from '../src/io/avro-object-writer';
import type { RecordCounts } from '../src/manifest/partition';
import { isPartitionError, PartitionError, passThrough, StageDefinition, TransformContext } from '../src/pipeline/types';
import { FailureTypes } from './deps';
import { invalidReason, recordText, thrownText } from './reject-text';
import { AbandonedWait } from './user-code-wait';

/**
 * Where a stage's records go: the stage activity's PartitionRun (S3 objects) or, in
 * partflow/testing's runStage, memory. Both go through transformRecord below, so a unit test
 * sees the same drops, rejects and schema checks as a real run.
 */
export interface RecordSink {
  readonly counts: RecordCounts;
  /** The output schema, for the reason of a schema reject. */
  readonly outputType?: Type;
  /** Writes a record; throws (or rejects with) RecordEncodeError if it does not fit the schema. */
  out(record: unknown): Promise<void> | undefined;
  drop(): void;
  reject(source: string, index: number, reason: string, record: string): Promise<void>;
  /** "stage "x" partition p-… (name)", for errors. */
  where(): string;
  /**
   * Awaits an async transform's promise for one record: a real run bounds the wait and lets go
   * on cancellation (user-code-wait.ts), rejecting with an AbandonedWait; without it, a bare await.
   */
  awaitTransform?<T>(p: Promise<T>, label: string, index: number): Promise<T>;
}

/** Setup failures fail the attempt (retryable unless a PartitionError says otherwise), naming the partition. */
function setupFailed(where: string, err: unknown): ApplicationFailure {
  const nonRetryable = isPartitionError(err) && !err.retryable;
  return ApplicationFailure.create({
    type: FailureTypes.TransformFailed, message: `${where}: stage setup failed: ${thrownText(err)}`, nonRetryable, cause: err instanceof Error ? err : undefined,
  });
}

/**
 * Runs a stage's setup. `guard` awaits a setup that returns a promise (a worker's bounds it and
 * lets go on cancellation: user-code-wait.ts); what the guard itself throws passes as it is.
 */
export async function runSetup(where: string, setup: () => unknown, guard?: (p: Promise<unknown>) => Promise<unknown>): Promise<unknown> {
  let state: unknown;
  try {
    state = setup();
  } catch (err) {
    throw setupFailed(where, err);
  }
  if (typeof (state as PromiseLike<unknown> | undefined)?.then !== 'function') return state;
  const failed = Promise.resolve(state).then(undefined, (err) => { throw setupFailed(where, err); });
  return guard ? guard(failed) : failed;
}

/** A transform gave up on the whole partition: fail the attempt, retryable or not as it said. */
function transformFailed(err: PartitionError, where: string, input: string, index: number): ApplicationFailure {
  const message = `${where}: transform failed the partition at record ${index} of ${input}: ${err.message}`;
  return ApplicationFailure.create({ type: FailureTypes.TransformFailed, message, nonRetryable: !err.retryable, cause: err });
}

/** The `lookup()` a stage's setup gets: only the lookups the stage declares. */
export function stageLookup(pipeline: string, stage: string, declared: readonly string[], load: (name: string) => Promise<Record<string, unknown>[]> | undefined) {
  return (name: string): Promise<Record<string, unknown>[]> => {
    const p = declared.includes(name) ? load(name) : undefined;
    return p ?? Promise.reject(new Error(`stage "${stage}" of pipeline "${pipeline}" declares no lookup "${name}"`));
  };
}

/**
 * One input record through a stage's transform: written, dropped (null/undefined) or rejected
 * (the transform threw, or its output does not fit the stage's schema). A PartitionError fails
 * the attempt. Returns a promise only when it has to wait: this runs once per record, and an
 * await per record costs more than the encoding. For the same reason no function on the
 * synchronous path holds a closure: V8 allocates the context of a function whose variables a
 * closure captures on every call, closure made or not, and in a worker's heap profile those
 * contexts (here, in PartitionRun.out, AvroObjectWriter.add and EventLoopTurns.due) came to
 * 200 bytes a record, all garbage for the scavenger.
 */
export function transformRecord(def: StageDefinition, record: unknown, ctx: TransformContext, sink: RecordSink, label: string, index: number): Promise<void> | undefined {
  sink.counts.in++;
  ctx.recordIndex = index;
  let out: unknown;
  try {
    out = def.transform(record, ctx);
  } catch (err) {
    return transformThrew(err, record, sink, label, index);
  }
  if (out instanceof Promise) return emitWhenDone(out, def, record, sink, label, index);
  return emit(def, out, record, sink, label, index);
}

// An async transform's result. Its own function, for the reason above.
function emitWhenDone(out: Promise<unknown>, def: StageDefinition, record: unknown, sink: RecordSink, label: string, index: number): Promise<void> {
  const settled = sink.awaitTransform ? sink.awaitTransform(out, label, index) : out;
  return settled.then((o) => emit(def, o, record, sink, label, index), (err) => {
    if (err instanceof AbandonedWait) throw err.failure;
    return transformThrew(err, record, sink, label, index);
  });
}

function emit(def: StageDefinition, out: unknown, record: unknown, sink: RecordSink, label: string, index: number): Promise<void> | undefined {
  if ((out === null || out === undefined) && def.transform !== passThrough) {
    sink.drop();
    return undefined;
  }
  try {
    const pending = sink.out(out);
    return pending && unfitOnReject(pending, out, record, sink, label, index);
  } catch (err) {
    return unfit(err, out, record, sink, label, index);
  }
}

// Its own function: a closure in emit() would make V8 allocate emit's context on every call.
function unfitOnReject(pending: Promise<void>, out: unknown, record: unknown, sink: RecordSink, label: string, index: number): Promise<void> {
  return pending.catch((err) => unfit(err, out, record, sink, label, index));
}

/** The transform threw: a PartitionError fails the attempt, anything else rejects the record. */
function transformThrew(err: unknown, record: unknown, sink: RecordSink, label: string, index: number): Promise<void> {
  if (isPartitionError(err)) throw transformFailed(err, sink.where(), label, index);
  return sink.reject(label, index, thrownText(err), recordText(record));
}

/** The output does not fit the stage's schema: reject the record (any other error propagates). */
function unfit(err: unknown, out: unknown, record: unknown, sink: RecordSink, label: string, index: number): Promise<void> {
  if (!(err instanceof RecordEncodeError)) throw err;
  return sink.reject(label, index, invalidReason(sink.outputType, out, err), recordText(record));
}
