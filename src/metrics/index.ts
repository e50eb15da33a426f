/**
 * partflow's own Prometheus metrics (prom-client). Activities report once per partition attempt
 * (commit, reuse, resume, checkpoint, failure), never per record, so the hot path pays nothing.
 * Records and bytes count committed partitions, so after a run they equal its result.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { logger } from '../log';
import type { RecordCounts } from '../manifest/partition';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'partflow_' });

const labels = ['pipeline', 'stage'] as const;
const counter = (name: string, help: string, extra: string[] = []) =>
  new Counter({ name, help, labelNames: [...labels, ...extra], registers: [registry] });

const records = {
  in: counter('partflow_records_in_total', 'Records read by committed partitions'),
  out: counter('partflow_records_out_total', 'Records written to outputs by committed partitions'),
  rejected: counter('partflow_records_rejected_total', 'Records written to rejects objects by committed partitions'),
  dropped: counter('partflow_records_dropped_total', 'Records a transform dropped (returned null) in committed partitions'),
};
const bytesRead = counter('partflow_bytes_read_total', 'Input bytes (objects or their ranges) of committed partitions');
const bytesWritten = counter('partflow_bytes_written_total', 'Bytes of outputs and rejects objects committed');
const committed = counter('partflow_partitions_committed_total', 'Partitions computed and committed');
const reused = counter('partflow_partitions_reused_total', 'Partitions found already committed (same content version) and not recomputed');
const resumes = counter('partflow_resumes_total', 'Partition attempts that resumed from an earlier attempt\'s checkpoint');
const checkpoints = counter('partflow_checkpoints_total', 'Checkpoints recorded (sent with heartbeats)');
const failures = counter('partflow_partition_failures_total', 'Failed partition attempts, by failure type', ['type']);
const duration = new Histogram({
  name: 'partflow_partition_duration_seconds', help: 'Wall time of committed partition attempts',
  labelNames: [...labels], buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600], registers: [registry],
});

// Failures can come before the plan is read; the activities remember each plan's pipeline.
const pipelineOfPlan = new Map<string, string>();
export function notePlan(planKey: string, pipeline: string): void {
  if (pipelineOfPlan.size > 1000) pipelineOfPlan.clear();
  pipelineOfPlan.set(planKey, pipeline);
}

export interface CommittedPartition {
  pipeline: string;
  stage: string;
  counts: RecordCounts;
  durationMs: number;
  bytesRead: number;
  bytesWritten: number;
}

/** Bytes an input list covers: whole objects, or ranges (an end of -1 runs to the object's end). */
export function inputBytes(inputs: { size: number; range?: [number, number] }[]): number {
  let n = 0;
  for (const i of inputs) {
    const b = i.range ? (i.range[1] < 0 ? i.size : i.range[1]) - i.range[0] : i.size;
    if (Number.isFinite(b) && b > 0) n += b;
  }
  return n;
}

// Metrics must never fail an activity: prom-client throws on a bad value.
function safely(what: string, f: () => void): void {
  try {
    f();
  } catch (err) {
    if (!warned.has(what)) logger().warn({ err: (err as Error).message }, `could not update the ${what} metrics`);
    warned.add(what);
  }
}
const warned = new Set<string>();

export const partitionMetrics = {
  /**
   * Every series a worker knows of at its start, at 0: each registered pipeline's stages, and for
   * failures each type partflow names. Prometheus' rate() and increase() need a sample before
   * the first event, so without these the first failure of a stage never showed in an alert on
   * `increase(partflow_partition_failures_total[…]) > 0`.
   */
  declare(pipelines: { name: string; stages: string[] }[], failureTypes: string[]): void {
    safely('declared', () => {
      for (const p of pipelines) {
        for (const stage of p.stages) {
          const l = { pipeline: p.name, stage };
          for (const c of [...Object.values(records), bytesRead, bytesWritten, committed, reused, resumes, checkpoints]) c.inc(l, 0);
          duration.zero(l);
          for (const type of failureTypes) failures.inc({ ...l, type }, 0);
        }
      }
    });
  },
  committed(p: CommittedPartition): void {
    safely('partition', () => {
      const l = { pipeline: p.pipeline, stage: p.stage };
      for (const k of ['in', 'out', 'rejected', 'dropped'] as const) records[k].inc(l, p.counts[k]);
      bytesRead.inc(l, p.bytesRead);
      bytesWritten.inc(l, p.bytesWritten);
      committed.inc(l);
      duration.observe(l, p.durationMs / 1000);
    });
  },
  reused(pipeline: string, stage: string): void {
    reused.inc({ pipeline, stage });
  },
  resumed(pipeline: string, stage: string): void {
    resumes.inc({ pipeline, stage });
  },
  checkpoint(pipeline: string, stage: string): void {
    checkpoints.inc({ pipeline, stage });
  },
  failed(planKey: string | undefined, stage: string, type: string): void {
    failures.inc({ pipeline: (planKey && pipelineOfPlan.get(planKey)) || 'unknown', stage, type });
  },
};
