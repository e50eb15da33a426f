import { Context } from '@temporalio/activity';
import { Type } from 'avsc';
import type { Logger } from 'pino';
import { CodecName } from '../src/avro/codecs';
import { syncMarkerFor } from '../src/avro/container';
import { loadSchema } from '../src/avro/schemas';
import { schemaFingerprint } from '../src/avro/fingerprint';
import { AvroObjectWriter, OutputConflictError, WrittenObject } from '../src/io/avro-object-writer';
import { partitionLogger } from '../src/log';
import { PartitionManifest, PartitionResult, RecordCounts } from '../src/manifest/partition';
import { manifestKey, outputKey, partitionId, rejectsKey } from '../src/pipeline/layout';
import { Plan } from '../src/pipeline/plan';
import { getObjectBuffer, ObjectNotFoundError, putIfAbsent, PreconditionFailedError } from '../src/storage/objects';
import { formatS3Url } from '../src/storage/s3url';
import { ActivityDeps, nonRetryable } from './deps';

const REJECT_SCHEMA = loadSchema('partflow_reject@1');
const HEARTBEAT_MS = 2_000;

export interface PartitionTarget {
  stage: string;
  codeVersion: string;
  outputVersion: string;
  dir: string;
  schemaRef: string;
  schemaFingerprint: string;
  codec: string;
}

export type ManifestInput = PartitionManifest['inputs'][number];

/**
 * One attempt at one partition of one stage: output and rejects writers, record counts,
 * heartbeats, and the commit. Shared by the import and by every pipeline stage.
 */
export class PartitionRun {
  readonly id: string;
  readonly log: Logger;
  readonly counts: RecordCounts = { in: 0, out: 0, rejected: 0, dropped: 0 };
  readonly outKey: string;
  readonly manifestKey: string;
  private readonly started = Date.now();
  private readonly startedAt = new Date().toISOString();
  private output?: AvroObjectWriter;
  outputType?: Type;
  private rejects?: AvroObjectWriter;
  private lastBeat = 0;

  constructor(private readonly deps: ActivityDeps, readonly plan: Plan, readonly target: PartitionTarget, readonly index: number) {
    this.id = partitionId(index);
    this.outKey = outputKey(target.dir, index);
    this.manifestKey = manifestKey(target.dir, index);
    const info = Context.current().info;
    this.log = partitionLogger({
      workflowId: info.workflowExecution?.workflowId ?? "", runId: info.workflowExecution?.runId ?? "", stage: target.stage, partition: this.id,
    });
  }

  private identity(kind: string): string {
    return `${this.plan.dataset}/${this.target.stage}/${this.target.outputVersion}/${this.id}/${kind}`;
  }

  /** The committed result, if an earlier attempt or run already finished this partition. */
  async committed(): Promise<PartitionResult | null> {
    let buf: Buffer;
    try {
      buf = await getObjectBuffer(this.deps.s3, this.plan.bucket, this.manifestKey, 16 * 1024 * 1024);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return null;
      throw err;
    }
    const m = JSON.parse(buf.toString('utf8')) as PartitionManifest;
    return this.result(m, 'skipped');
  }

  /** Opens the output. Its schema is the stage's; its sync marker comes from the partition's identity. */
  openOutput(schemaJson?: string): AvroObjectWriter {
    const schema = schemaJson ? undefined : loadSchema(this.target.schemaRef, this.deps.registry.get(this.plan.pipeline)?.def.schemasDir);
    const json = schemaJson ?? schema!.json;
    this.outputType = schema ? schema.type : Type.forSchema(JSON.parse(json));
    // Inherited and inferred schemas are only known now; record what was actually written.
    this.target.schemaFingerprint = schemaFingerprint(this.outputType);
    this.output = new AvroObjectWriter(
      this.deps.s3, this.plan.bucket, this.outKey, this.outputType, json,
      { codec: this.target.codec as CodecName, sync: syncMarkerFor(this.identity('output')) },
    );
    return this.output;
  }

  async out(record: unknown): Promise<void> {
    await this.output!.add(record);
    this.counts.out++;
  }

  drop(): void {
    this.counts.dropped++;
  }

  async reject(source: string, index: number, reason: string, record: string): Promise<void> {
    if (!this.rejects) {
      this.rejects = new AvroObjectWriter(
        this.deps.s3, this.plan.bucket, rejectsKey(this.target.dir, this.index), REJECT_SCHEMA.type, REJECT_SCHEMA.json,
        { codec: this.target.codec as CodecName, sync: syncMarkerFor(this.identity('rejects')) },
      );
    }
    await this.rejects.add({ stage: this.target.stage, partition: this.id, source, index, reason: reason.slice(0, 4096), record });
    this.counts.rejected++;
  }

  /** Heartbeats at most every couple of seconds; also where cancellation is noticed. */
  beat(extra: Record<string, unknown> = {}): void {
    const now = Date.now();
    if (now - this.lastBeat < HEARTBEAT_MS) return;
    this.lastBeat = now;
    Context.current().heartbeat({ stage: this.target.stage, partition: this.id, ...this.counts, ...extra });
  }

  /** Finishes the objects and writes the manifest, create-only. A manifest already there wins. */
  async commit(inputs: ManifestInput[]): Promise<PartitionResult> {
    let output: WrittenObject;
    let rejects: WrittenObject | null = null;
    try {
      output = await this.output!.finish();
      if (this.rejects) rejects = await this.rejects.finish();
    } catch (err) {
      if (err instanceof OutputConflictError) throw nonRetryable('OutputConflict', `${this.where()}: ${err.message}`, err);
      throw err;
    }
    const info = Context.current().info;
    const manifest: PartitionManifest = {
      kind: 'partflow.partition', version: 1, pipeline: this.plan.pipeline, dataset: this.plan.dataset,
      stage: this.target.stage, partition: this.id, codeVersion: this.target.codeVersion, outputVersion: this.target.outputVersion,
      schema: { ref: this.target.schemaRef, fingerprint: this.target.schemaFingerprint }, codec: this.target.codec,
      inputs, output: { url: output.url, bytes: output.bytes, sha256: output.sha256, records: output.records },
      rejects: rejects && { url: rejects.url, bytes: rejects.bytes, sha256: rejects.sha256, records: rejects.records },
      counts: { ...this.counts },
      run: { workflowId: info.workflowExecution?.workflowId ?? "", runId: info.workflowExecution?.runId ?? "", activityId: info.activityId, attempt: info.attempt },
      startedAt: this.startedAt, finishedAt: new Date().toISOString(), durationMs: Date.now() - this.started,
    };
    if (manifest.counts.in !== manifest.counts.out + manifest.counts.rejected + manifest.counts.dropped) {
      throw new Error(`${this.where()}: record counts do not add up: ${JSON.stringify(manifest.counts)}`);
    }
    try {
      await putIfAbsent(this.deps.s3, this.plan.bucket, this.manifestKey, JSON.stringify(manifest, null, 1), 'application/json');
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      const existing = await this.committed();
      if (existing) return existing;
      throw err;
    }
    this.log.info({ counts: manifest.counts, output: output.url, bytes: output.bytes }, 'partition committed');
    return this.result(manifest, 'done');
  }

  async abort(): Promise<void> {
    await Promise.all([this.output?.abort(), this.rejects?.abort()]);
  }

  where(): string {
    return `stage "${this.target.stage}" partition ${this.id}`;
  }

  private result(m: PartitionManifest, status: PartitionResult['status']): PartitionResult {
    return {
      stage: this.target.stage, partition: this.id, status, counts: m.counts, outputKey: this.outKey,
      manifestKey: this.manifestKey, durationMs: status === 'skipped' ? 0 : m.durationMs,
    };
  }

  url(key: string): string {
    return formatS3Url({ bucket: this.plan.bucket, key });
  }
}
