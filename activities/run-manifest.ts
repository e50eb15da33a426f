import { IngestSummary, RunManifest } from '../src/manifest/run';
import { PartitionManifest } from '../src/manifest/partition';
import { getObjectBuffer, listObjects, putIfAbsent, PreconditionFailedError } from '../src/storage/objects';
import { formatS3Url, parseS3Url } from '../src/storage/s3url';
import { ActivityDeps, loadPlan } from './deps';
import pLimit from 'p-limit';

export interface RunManifestRequest {
  bucket: string;
  planKey: string;
  workflowId: string;
  runId: string;
  summary: IngestSummary;
  failures: RunManifest['failures'];
  blocked: RunManifest['blocked'];
}

/** Writes the run manifest: the summary plus every committed partition manifest, per stage. */
export function makeRunManifestActivity(deps: ActivityDeps) {
  return async function writeRunManifest(req: RunManifestRequest): Promise<string> {
    const plan = await loadPlan(deps, req.bucket, req.planKey);
    const limit = pLimit(16);
    const committed: RunManifest['committed'] = {};
    const dirs: [string, string][] = [...(plan.raw.dir ? [['raw', plan.raw.dir] as [string, string]] : []), ...plan.stages.map((s) => [s.name, s.dir] as [string, string])];
    for (const [stage, dir] of dirs) {
      const listed = await listObjects(deps.s3, plan.bucket, `${dir}/_manifests/`);
      committed[stage] = await Promise.all(listed.map((o) => limit(async () => {
        const m = JSON.parse((await getObjectBuffer(deps.s3, plan.bucket, o.key)).toString('utf8')) as PartitionManifest;
        return { partition: m.partition, manifest: formatS3Url({ bucket: plan.bucket, key: o.key }), output: m.output.url, sha256: m.output.sha256, records: m.output.records, runId: m.run.runId };
      })));
    }
    const loc = parseS3Url(req.summary.manifest);
    const manifest: RunManifest = {
      ...req.summary, kind: 'partflow.run', version: 1, workflowId: req.workflowId, runId: req.runId,
      writtenAt: new Date().toISOString(), committed, failures: req.failures, blocked: req.blocked,
    };
    try {
      await putIfAbsent(deps.s3, loc.bucket, loc.key, JSON.stringify(manifest, null, 1), 'application/json');
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err; // an earlier attempt wrote it
    }
    return req.summary.manifest;
  };
}
