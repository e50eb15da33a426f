import { CancelledFailure, Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { Type } from 'avsc';
import type { Logger } from 'pino';
import { CodecName } from '../src/avro/codecs';
import { syncMarkerFor } from '../src/avro/container';
import { loadSchema } from '../src/avro/schemas';
import { schemaFingerprint } from '../src/avro/fingerprint';
import { typeForSchema } from '../src/avro/type-cache';
import { AvroObjectWriter, OutputConflictError, WriterSnapshot, WrittenObject } from '../src/io/avro-object-writer';
import { partitionLogger } from '../src/log';
import { inputBytes, partitionMetrics } from '../src/metrics';
import { PartitionManifest, PartitionResult, RecordCounts } from '../src/manifest/partition';
import { datasetPrefix } from '../src/pipeline/layout';
import { Plan } from '../src/pipeline/plan';
import { getObjectBuffer, ObjectNotFoundError, putIfAbsent, PreconditionFailedError } from '../src/storage/objects';
import { formatS3Url } from '../src/storage/s3url';
import { AttemptHeartbeat } from './attempt-heartbeat';
import { cancelReason } from './cancellation';
import { ActivityDeps, nonRetryable } from './deps';
import { committedByThisRun, foreignManifest, newManifest } from './partition-manifest';
import { InputPosition, ManifestInput, PartitionCheckpoint, PartitionTarget } from './partition-types';
import { RejectsSpill } from './rejects-spill';
import { recordWatch, RecordWatch } from './user-code-wait';

export type { InputPosition, ManifestInput, PartitionCheckpoint, PartitionTarget } from './partition-types';
export { HEARTBEAT_MS } from './attempt-heartbeat';

const REJECT_SCHEMA = loadSchema('partflow_reject@1');

/**
 * One attempt at one partition of one stage: output and rejects writers, record counts,
 * heartbeats, and the commit. Shared by the import and by every pipeline stage.
 */
export class PartitionRun {
  readonly id: string;
  readonly name: string;
  readonly log: Logger;
  readonly counts: RecordCounts = { in: 0, out: 0, rejected: 0, dropped: 0 };
  readonly outKey: string;
  readonly manifestKey: string;
  private readonly started = Date.now();
  private readonly startedAt = new Date().toISOString();
  private output?: AvroObjectWriter;
  outputType?: Type;
  private rejects?: AvroObjectWriter;
  private lastCheckpoint?: PartitionCheckpoint;
  /** Where checkpoints put the rejects' buffered bytes aside (they are records: not for Temporal). */
  private readonly spills: RejectsSpill;
  private readonly heartbeat: AttemptHeartbeat;
  /** Shown with heartbeats: where the reading is (set once per block, not per record). */
  progress: Record<string, unknown> = {};
  /** Set when this attempt carried on from an earlier attempt's checkpoint. */
  resumedFrom: PartitionManifest['resumedFrom'] = null;

  constructor(private readonly deps: ActivityDeps, readonly plan: Plan, readonly target: PartitionTarget, readonly index: number) {
    const p = plan.partitions[index];
    this.id = p.id;
    this.name = p.name;
    this.outKey = target.keys.output;
    this.manifestKey = target.keys.manifest;
    const info = Context.current().info;
    this.log = partitionLogger({
      workflowId: info.workflowExecution?.workflowId ?? "", runId: info.workflowExecution?.runId ?? "", stage: target.stage, partition: this.id,
    });
    // Spills live beside the dataset's plans and runs, never under a stage's outputs.
    this.spills = new RejectsSpill(deps.s3, plan.bucket, `${datasetPrefix(plan.targetPrefix, plan.dataset)}/_checkpoints/${target.stage}/${this.id}/${target.contentVersion}/`, this.log, info.attempt > 1);
    this.heartbeat = new AttemptHeartbeat((extra) => this.details(extra), () => this.where(), this.log);
  }

  private identity(kind: string): string {
    return `${this.plan.dataset}/${this.target.stage}/${this.target.contentVersion}/${this.id}/${kind}`;
  }

  /**
   * The committed result, if an earlier attempt or run already finished this partition. `fresh`:
   * the workflow runs this stage of the partition for the first time, and the plan found nothing
   * stored under the stage; a first attempt then has nothing to find and skips the GET. A commit
   * that races in anyway meets the create-only writes: the same bytes are accepted, and commit()
   * returns the other commit.
   */
  async committed(fresh = false): Promise<PartitionResult | null> {
    if (fresh && Context.current().info.attempt === 1) return null;
    let buf: Buffer;
    try {
      buf = await getObjectBuffer(this.deps.s3, this.plan.bucket, this.manifestKey, 16 * 1024 * 1024);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return null;
      throw err;
    }
    const m = JSON.parse(buf.toString('utf8')) as PartitionManifest;
    const foreign = foreignManifest(m, this.target);
    if (foreign) throw nonRetryable('OutputConflict', `${this.where()}: the committed manifest ${this.url(this.manifestKey)} ${foreign}`);
    if (committedByThisRun(m, Context.current().info)) return this.result(m, 'done');
    partitionMetrics.reused(this.plan.pipeline, this.target.stage);
    return this.result(m, 'skipped');
  }

  /** Opens the output. Its schema is the stage's; its sync marker comes from the partition's identity. */
  openOutput(schemaJson?: string, resume?: WriterSnapshot): AvroObjectWriter {
    const schema = schemaJson ? undefined : loadSchema(this.target.schemaRef, this.deps.registry.get(this.plan.pipeline)?.def.schemasDir);
    const json = schemaJson ?? schema!.json;
    this.outputType = schema ? schema.type : typeForSchema(json);
    // Inherited and inferred schemas are only known now; record what was actually written.
    this.target.schemaFingerprint = schemaFingerprint(this.outputType);
    this.output = new AvroObjectWriter(
      this.deps.s3, this.plan.bucket, this.outKey, this.outputType, json,
      { codec: this.target.codec as CodecName, sync: syncMarkerFor(this.identity('output')), resume },
    );
    return this.output;
  }

  private checkpointIdentity(): string {
    return `${this.target.stage}/${this.target.contentVersion}/${this.id}`;
  }

  /** The checkpoint the previous attempt of this activity left, if it is for this very work. */
  previousCheckpoint(): PartitionCheckpoint | null {
    const details = Context.current().info.heartbeatDetails as { checkpoint?: PartitionCheckpoint } | undefined;
    const cp = details?.checkpoint;
    if (!cp || cp.v !== 2 || cp.identity !== this.checkpointIdentity()) return null;
    return cp;
  }

  /**
   * Re-opens the writers of a checkpoint. Returns false (and leaves nothing open) when the
   * server no longer has the uploads; the caller then starts from the beginning.
   */
  async resume(cp: PartitionCheckpoint, outputSchemaJson?: string): Promise<boolean> {
    const out = this.openOutput(outputSchemaJson, { state: cp.output, buffered: Buffer.alloc(0) });
    const okOut = await out.verifyResume();
    let okRej = true;
    if (cp.rejects) {
      const buffered = await this.spills.get(cp.rejects.spill, cp.rejects.writer.recordsWritten);
      if (buffered) {
        this.rejects = this.rejectsWriter({ state: cp.rejects.writer, buffered });
        okRej = await this.rejects.verifyResume();
      } else okRej = false;
    }
    if (!okOut || !okRej) {
      this.log.warn({ checkpoint: cp.position }, 'checkpoint uploads are gone; starting the partition over');
      this.output = undefined;
      this.rejects = undefined;
      this.spills.forget();
      return false;
    }
    Object.assign(this.counts, cp.counts);
    this.lastCheckpoint = cp;
    this.resumedFrom = { attempt: Context.current().info.attempt, records: cp.counts.in, position: cp.position };
    this.log.info({ position: cp.position, counts: cp.counts }, 'resuming partition from checkpoint');
    partitionMetrics.resumed(this.plan.pipeline, this.target.stage);
    return true;
  }

  private rejectsWriter(resume?: WriterSnapshot): AvroObjectWriter {
    return new AvroObjectWriter(
      this.deps.s3, this.plan.bucket, this.target.keys.rejects, REJECT_SCHEMA.type, REJECT_SCHEMA.json,
      { codec: this.target.codec as CodecName, sync: syncMarkerFor(this.identity('rejects')), resume },
    );
  }

  /** True right after an output record completed a multipart part: the moment to call checkpoint(). */
  get partCompleted(): boolean {
    return this.output?.partCompleted === true;
  }

  /**
   * Records a checkpoint at `position` (just after the last record written). Call it when
   * partCompleted says so: everything up to here is then durable on the server (the output's
   * parts, and the rejects' buffered bytes, spilled to S3).
   */
  async checkpoint(position: InputPosition, source?: unknown): Promise<void> {
    if (!this.output?.partCompleted) return;
    this.output.partCompleted = false;
    const output = this.output.checkpoint();
    // The output is checkpointed only where nothing of it waits: right after a part went up.
    if (!output || output.buffered.length > 0) return;
    let rejects: PartitionCheckpoint['rejects'] = null;
    if (this.rejects) {
      const r = this.rejects.checkpoint();
      const spill = r && (await this.spills.put(r.buffered, this.rejects.records, `a${Context.current().info.attempt}-${this.counts.in}.rejects`));
      if (!r || spill === undefined) return;
      rejects = { writer: r.state, spill };
    }
    this.lastCheckpoint = {
      v: 2, identity: this.checkpointIdentity(), counts: { ...this.counts }, position, output: output.state, rejects, ...(source !== undefined ? { source } : {}), at: new Date().toISOString(),
    };
    this.log.info({ position, counts: this.lastCheckpoint.counts, parts: output.state.upload.parts.length }, 'checkpoint');
    partitionMetrics.checkpoint(this.plan.pipeline, this.target.stage);
    this.beat({}, true);
  }

  /** Writes an output record; returns a promise only when it has to wait for an upload. */
  out(record: unknown): Promise<void> | undefined {
    const p = this.output!.add(record);
    if (p) return this.countWhenWritten(p);
    this.counts.out++;
    return undefined;
  }

  // Apart from out(), whose context V8 would otherwise allocate for every record (see transformRecord).
  private countWhenWritten(p: Promise<void>): Promise<void> {
    return p.then(() => { this.counts.out++; });
  }

  drop(): void {
    this.counts.dropped++;
  }

  async reject(source: string, index: number, reason: string, record: string): Promise<void> {
    this.rejects ??= this.rejectsWriter();
    await this.rejects.add({ stage: this.target.stage, partition: this.id, source, index, reason: reason.slice(0, 4096), record });
    this.counts.rejected++;
  }

  private watch?: RecordWatch;

  /** RecordSink.awaitTransform: an async transform's promise, bounded and cancellable (user-code-wait.ts). */
  awaitTransform<T>(p: Promise<T>, label: string, index: number): Promise<T> {
    this.watch ??= recordWatch(this);
    return this.watch.wait(p, label, index);
  }

  /** Call once per record, and await what it returns, if anything (AttemptHeartbeat.tick). */
  tick(): Promise<void> | undefined {
    return this.heartbeat.tick();
  }

  private details(extra: Record<string, unknown>): Record<string, unknown> {
    return { progress: { stage: this.target.stage, partition: this.id, ...this.counts, ...this.progress, ...extra }, checkpoint: this.lastCheckpoint };
  }

  /** What the next attempt does, in words: resume from the checkpoint, or start over when there is none yet. */
  private nextAttempt(): string {
    return this.lastCheckpoint ? `resumes from the checkpoint after ${this.lastCheckpoint.counts.in} records` : 'starts the partition over (no checkpoint yet)';
  }

  /** Heartbeats (with the latest checkpoint) at most every couple of seconds, or now if forced. */
  beat(extra: Record<string, unknown> = {}, force = false): void {
    this.heartbeat.beat(extra, force);
  }

  /**
   * Settles a failed attempt and returns the error to throw. Uploads are aborted only when no
   * later attempt will resume them, and only by the attempt the server still has running:
   * - a user's cancel (the workflow cancelled the activity; the cancel reached this very attempt);
   * - a non-retryable error, or a failure of the last attempt, once the server has confirmed
   *   (beatNow) that this attempt is still the current one.
   * A worker shutdown leaves the uploads and sends the last checkpoint for the next attempt.
   * A timeout or a "not found" (the server gave this attempt up) never aborts: this attempt is
   * then a zombie, and its successor may already have resumed these very uploads from the
   * checkpoint; aborting them would destroy its work.
   */
  async failed(err: unknown): Promise<unknown> {
    const ctx = Context.current();
    const max = ctx.info.retryPolicy?.maximumAttempts ?? 0;
    const last = max > 0 && ctx.info.attempt >= max;
    const why = cancelReason(ctx);
    if (why === 'CANCELLED') {
      await this.abort();
      return err;
    }
    if (why === 'WORKER_SHUTDOWN' && err instanceof CancelledFailure) {
      if (last) await this.abort();
      else {
        await this.heartbeat.beatNow({ stopped: 'worker shutdown' });
        this.log.info({ counts: this.counts, checkpoint: this.lastCheckpoint?.position ?? null }, `worker shutting down: uploads left for the next attempt, which ${this.nextAttempt()}`);
      }
      // A failure rather than a cancellation: the SDK then flushes the last heartbeat, and the
      // server retries at once instead of waiting for a timeout.
      return ApplicationFailure.create({
        type: 'WorkerShutdown', message: `${this.where()}: the worker shut down; the next attempt ${this.nextAttempt()}`, nonRetryable: false,
      });
    }
    if (why !== undefined && why !== 'WORKER_SHUTDOWN') return err;
    const nonRetryable = (err as { nonRetryable?: boolean })?.nonRetryable === true;
    if ((nonRetryable || last) && (await this.heartbeat.beatNow()) !== false) await this.abort();
    return err;
  }

  /** Finishes the objects and writes the manifest, create-only. A manifest already there wins. */
  async commit(inputs: ManifestInput[], extra: Pick<PartitionManifest, 'offsets'> = {}): Promise<PartitionResult> {
    let output: WrittenObject;
    let rejects: WrittenObject | null = null;
    try {
      output = await this.output!.finish();
      if (this.rejects) rejects = await this.rejects.finish();
    } catch (err) {
      if (err instanceof OutputConflictError) throw nonRetryable('OutputConflict', `${this.where()}: ${err.message}`, err);
      throw err;
    }
    const manifest = newManifest({
      plan: this.plan, target: this.target, partition: { id: this.id, name: this.name }, inputs, output, rejects, counts: this.counts,
      offsets: extra.offsets, resumedFrom: this.resumedFrom, info: Context.current().info, startedAt: this.startedAt, started: this.started,
    }, this.where());
    try {
      await putIfAbsent(this.deps.s3, this.plan.bucket, this.manifestKey, JSON.stringify(manifest, null, 1), 'application/json');
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      const existing = await this.committed();
      if (existing) return existing;
      throw err;
    }
    this.log.info({ name: this.name, counts: manifest.counts, output: output.url, bytes: output.bytes }, 'partition committed');
    partitionMetrics.committed({
      pipeline: this.plan.pipeline, stage: this.target.stage, counts: manifest.counts, durationMs: manifest.durationMs,
      bytesRead: inputBytes(inputs), bytesWritten: output.bytes + (rejects?.bytes ?? 0),
    });
    await this.spills.drop();
    return this.result(manifest, 'done');
  }

  async abort(): Promise<void> {
    await Promise.all([this.output?.abort(), this.rejects?.abort()]);
    await this.spills.drop();
  }

  where(): string {
    return `stage "${this.target.stage}" partition ${this.id} (${this.name})`;
  }

  private result(m: PartitionManifest, status: PartitionResult['status']): PartitionResult {
    return partitionResult(m, { stage: this.target.stage, partition: this.id, output: this.outKey, manifest: this.manifestKey }, status);
  }

  url(key: string): string {
    return formatS3Url({ bucket: this.plan.bucket, key });
  }
}

/** What the workflow is told of the committed manifest `m` of (stage, partition) at these keys: computed by this run (`done`) or reused. */
export function partitionResult(m: PartitionManifest, at: { stage: string; partition: string; output: string; manifest: string }, status: PartitionResult['status']): PartitionResult {
  return {
    stage: at.stage, partition: at.partition, status, counts: m.counts, outputKey: at.output,
    manifestKey: at.manifest, durationMs: status === 'skipped' ? 0 : m.durationMs, attempt: Context.current().info.attempt,
    codeVersion: m.codeVersion, contentVersion: m.contentVersion,
    output: { url: m.output.url, sha256: m.output.sha256 }, computedBy: { workflowId: m.run.workflowId, runId: m.run.runId },
  };
}
