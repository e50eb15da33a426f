import { Context } from '@temporalio/activity';
import pLimit from 'p-limit';
import { IngestSummary, RunManifest, RunPartition } from '../src/manifest/run';
import { PartitionManifest } from '../src/manifest/partition';
import { partitionKeys } from '../src/pipeline/layout';
import { getJson, putIfAbsent, PreconditionFailedError } from '../src/storage/objects';
import { formatS3Url, parseS3Url } from '../src/storage/s3url';
import { ActivityDeps, loadPlan } from './deps';
import { versionSkew } from '../src/manifest/version-skew';

export interface RunManifestRequest {
  bucket: string;
  planKey: string;
  workflowId: string;
  runId: string;
  summary: IngestSummary;
  /** Per stage, the content version each partition (by plan index) committed in this run; '' where none. */
  versions: Record<string, string[]>;
  failures: { stage: string; index: number; error: string; attempts: number; runs: number }[];
  blocked: { stage: string; index: number }[];
}

/** Writes the run manifest: the summary plus, per stage, every committed partition with its manifest's facts. */
export function makeRunManifestActivity(deps: ActivityDeps) {
  return async function writeRunManifest(req: RunManifestRequest): Promise<string> {
    const plan = await loadPlan(deps, req.bucket, req.planKey);
    const limit = pLimit(16);
    let read = 0;
    const committed: RunManifest['committed'] = {};
    for (const [stage, versions] of Object.entries(req.versions)) {
      const entries = await Promise.all(versions.map((v, i) => (v ? limit(async (): Promise<RunPartition> => {
        const p = plan.partitions[i];
        const keys = partitionKeys(plan.targetPrefix, plan.dataset, stage, p.id, v);
        const m = await getJson<PartitionManifest>(deps.s3, plan.bucket, keys.manifest);
        if (++read % 500 === 0) Context.current().heartbeat({ read });
        // Child workflows of this run (`<id>/batch-…`) computed for it too.
        const mine = (m.run.workflowId === req.workflowId && m.run.runId === req.runId) || m.run.workflowId.startsWith(`${req.workflowId}/`);
        return {
          partition: p.id, name: p.name, output: m.output.url, manifest: formatS3Url({ bucket: plan.bucket, key: keys.manifest }), sha256: m.output.sha256,
          counts: m.counts, codeVersion: m.codeVersion, contentVersion: m.contentVersion, result: mine ? 'computed' : 'reused',
          workflowId: m.run.workflowId, runId: m.run.runId,
        };
      }) : null)));
      committed[stage] = entries.filter((e): e is RunPartition => e !== null);
    }
    const named = (index: number) => ({ partition: plan.partitions[index].id, name: plan.partitions[index].name });
    const loc = parseS3Url(req.summary.manifest);
    const skew = versionSkew(plan.stages ?? [], Object.entries(committed).flatMap(([stage, es]) => es.map((e) => ({ stage, codeVersion: e.codeVersion }))), Context.current().info.taskQueue);
    const manifest: RunManifest = {
      ...req.summary, ...(skew ? { versionSkew: skew } : {}), kind: 'partflow.run', version: 2, workflowId: req.workflowId, runId: req.runId, writtenAt: new Date().toISOString(), committed,
      failures: req.failures.map((f) => ({ stage: f.stage, ...named(f.index), error: f.error, attempts: f.attempts, runs: f.runs })),
      blocked: req.blocked.map((b) => ({ stage: b.stage, ...named(b.index) })),
    };
    try {
      await putIfAbsent(deps.s3, loc.bucket, loc.key, JSON.stringify(manifest, null, 1), 'application/json');
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err; // an earlier attempt wrote it
    }
    return req.summary.manifest;
  };
}
