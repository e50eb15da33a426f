import type { Info } from '@temporalio/activity';
import { WrittenObject } from '../src/io/avro-object-writer';
import { offsetsProblem } from '../src/manifest/offsets';
import { PartitionManifest, RecordCounts } from '../src/manifest/partition';
import { INHERIT_SCHEMA } from '../src/pipeline/types';
import { Plan } from '../src/pipeline/plan';
import { ManifestInput, PartitionTarget } from './partition-types';

/** What a partition attempt commits: the manifest of its output, once its counts add up. */
export interface ManifestParts {
  plan: Plan;
  target: PartitionTarget;
  partition: { id: string; name: string };
  inputs: ManifestInput[];
  output: WrittenObject;
  rejects: WrittenObject | null;
  counts: RecordCounts;
  offsets?: PartitionManifest['offsets'];
  resumedFrom: PartitionManifest['resumedFrom'];
  info: Info;
  startedAt: string;
  started: number;
}

/** The manifest to commit; throws (naming `where`) when its records or offsets are not all accounted for. */
export function newManifest(p: ManifestParts, where: string): PartitionManifest {
  const { plan, target, info } = p;
  const manifest: PartitionManifest = {
    kind: 'partflow.partition', version: 2, pipeline: plan.pipeline, dataset: plan.dataset,
    stage: target.stage, partition: p.partition.id, name: p.partition.name, codeVersion: target.codeVersion, contentVersion: target.contentVersion,
    schema: { ref: target.schemaRef, fingerprint: target.schemaFingerprint }, codec: target.codec,
    inputs: p.inputs, output: { url: p.output.url, bytes: p.output.bytes, sha256: p.output.sha256, records: p.output.records },
    rejects: p.rejects && { url: p.rejects.url, bytes: p.rejects.bytes, sha256: p.rejects.sha256, records: p.rejects.records },
    counts: { ...p.counts },
    ...(p.offsets ? { offsets: { ...p.offsets } } : {}),
    resumedFrom: p.resumedFrom,
    run: { workflowId: info.workflowExecution?.workflowId ?? '', runId: info.workflowExecution?.runId ?? '', activityId: info.activityId, attempt: info.attempt },
    startedAt: p.startedAt, finishedAt: new Date().toISOString(), durationMs: Date.now() - p.started,
  };
  if (manifest.counts.in !== manifest.counts.out + manifest.counts.rejected + manifest.counts.dropped) {
    throw new Error(`${where}: record counts do not add up: ${JSON.stringify(manifest.counts)}`);
  }
  const unaccounted = offsetsProblem(manifest);
  if (unaccounted) throw new Error(`${where}: ${unaccounted}`);
  return manifest;
}

/**
 * Why a manifest found at this stage's key is not this stage's, or null. The key already encodes
 * these (the version hash covers code version, schema and inputs); this guards against a manifest
 * written by something else at that key.
 */
export function foreignManifest(m: PartitionManifest, target: PartitionTarget): string | null {
  const fp = target.schemaFingerprint;
  if (m.codeVersion === target.codeVersion && m.contentVersion === target.contentVersion && !(fp && fp !== INHERIT_SCHEMA && m.schema.fingerprint !== fp)) return null;
  return `is for code version ${m.codeVersion}, content version ${m.contentVersion}, schema ${m.schema?.fingerprint?.slice(0, 12)}, not this stage's`;
}

/**
 * This very run committed it in an earlier attempt whose completion never reached Temporal (the
 * worker died after the commit, or Temporal was unreachable): computed here, not reused.
 */
export function committedByThisRun(m: PartitionManifest, info: Info): boolean {
  const exec = info.workflowExecution;
  return exec !== undefined && m.run.workflowId === exec.workflowId && m.run.runId === exec.runId;
}
