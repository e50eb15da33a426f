import { S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { PartitionManifest } from '../manifest/partition';
import { RunManifest } from '../manifest/run';
import { partitionIndex } from '../pipeline/layout';
import { getObjectBuffer, listObjects } from '../storage/objects';
import { formatS3Url, parseS3Url } from '../storage/s3url';

/** One thing that happened to a partition, read back from the immutable manifests. */
export interface HistoryEntry {
  when: string;
  workflowId: string;
  runId: string;
  stage: string;
  codeVersion?: string;
  outputVersion?: string;
  /** done: computed and committed by this run; reused: this run found it committed; failed; blocked. */
  result: 'done' | 'reused' | 'failed' | 'blocked';
  attempts?: number;
  counts?: PartitionManifest['counts'];
  error?: string;
  output?: string;
}

async function json<T>(s3: S3Client, bucket: string, key: string): Promise<T> {
  return JSON.parse((await getObjectBuffer(s3, bucket, key)).toString('utf8')) as T;
}

/**
 * Every run that touched a partition of a dataset: partition manifests (which run computed
 * each output, with its attempt and counts) and run manifests (which runs reused, failed or
 * were blocked on it). Works from S3 alone, long after Temporal has dropped the histories.
 */
export async function partitionHistory(s3: S3Client, datasetUrl: string, partition: string): Promise<HistoryEntry[]> {
  const loc = parseS3Url(datasetUrl, { prefix: true });
  const part = `part-${String(partitionIndex(partition)).padStart(5, '0')}`;
  const objects = await listObjects(s3, loc.bucket, loc.key);
  const limit = pLimit(16);
  const manifestKeys = objects.map((o) => o.key).filter((k) => k.endsWith(`/_manifests/${part}.json`));
  const runKeys = objects.map((o) => o.key).filter((k) => k.slice(loc.key.length).startsWith('_runs/') && k.endsWith('.json'));
  const manifests = await Promise.all(manifestKeys.map((k) => limit(() => json<PartitionManifest>(s3, loc.bucket, k))));
  const runs = await Promise.all(runKeys.map((k) => limit(() => json<RunManifest>(s3, loc.bucket, k))));
  const out: HistoryEntry[] = [];
  const computedBy = new Map<string, PartitionManifest>();
  for (const m of manifests) {
    computedBy.set(formatS3Url({ bucket: loc.bucket, key: manifestKeys[manifests.indexOf(m)] }), m);
    out.push({
      when: m.finishedAt, workflowId: m.run.workflowId, runId: m.run.runId, stage: m.stage, codeVersion: m.codeVersion, outputVersion: m.outputVersion,
      result: 'done', attempts: m.run.attempt, counts: m.counts, output: m.output.url,
    });
  }
  for (const r of runs) {
    for (const [stage, list] of Object.entries(r.committed ?? {})) {
      for (const c of list) {
        if (c.partition !== partition || c.runId === r.runId) continue;
        const m = computedBy.get(c.manifest);
        out.push({ when: r.writtenAt, workflowId: r.workflowId, runId: r.runId, stage, codeVersion: m?.codeVersion, outputVersion: m?.outputVersion, result: 'reused', counts: m?.counts, output: c.output });
      }
    }
    for (const f of r.failures ?? []) {
      if (f.partition === partition) out.push({ when: r.writtenAt, workflowId: r.workflowId, runId: r.runId, stage: f.stage, result: 'failed', attempts: f.attempts, error: f.error });
    }
    for (const b of r.blocked ?? []) {
      if (b.partition === partition) out.push({ when: r.writtenAt, workflowId: r.workflowId, runId: r.runId, stage: b.stage, result: 'blocked' });
    }
  }
  return out.sort((a, b) => (a.when < b.when ? -1 : a.when > b.when ? 1 : 0));
}

/** The run manifest(s) of a workflow id under a dataset, newest last. */
export async function runManifests(s3: S3Client, datasetUrl: string, workflowId: string): Promise<RunManifest[]> {
  const loc = parseS3Url(datasetUrl, { prefix: true });
  const safe = workflowId.replace(/[^A-Za-z0-9._-]/g, '_');
  const keys = (await listObjects(s3, loc.bucket, `${loc.key}_runs/${safe}/`)).map((o) => o.key);
  const runs = await Promise.all(keys.map((k) => json<RunManifest>(s3, loc.bucket, k)));
  return runs.sort((a, b) => (a.writtenAt < b.writtenAt ? -1 : 1));
}
