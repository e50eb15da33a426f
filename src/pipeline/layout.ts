import { formatS3Url } from '../storage/s3url';
/**
 * Where everything lives in the target bucket. Pure, so workflows and activities agree.
 *
 *   <target>/<dataset>/_partflow.json                            marks the folder as partflow's (listings skip it)
 *   <target>/<dataset>/<stage>/<partition>/<version>.avro        a partition's output at a stage
 *   <target>/<dataset>/<stage>/<partition>/<version>.rejects.avro  its rejected records, if any
 *   <target>/<dataset>/<stage>/<partition>/<version>.json        its manifest (the commit point)
 *   <target>/<dataset>/_plans/<plan id>.json                     an ingest plan
 *   <target>/<dataset>/_runs/<workflow id>/<run id>.json         a run manifest
 *   <target>/<dataset>/_snapshots/…, _consumers/…                 snapshots and consumer cursors (src/snapshots/layout.ts)
 *
 * <partition> is the partition's stable id (a hash of the pieces it reads); <version> is its
 * content version at that stage: "<code version>-<hash>" of the stage's code version, schema,
 * codec, params and lookups and of this partition's own upstream versions. The same inputs give
 * the same key, so a key is never reused for different bytes and unchanged partitions are reused.
 */
export const DATASET_MARKER = '_partflow.json';

export function datasetPrefix(targetPrefix: string, dataset: string): string {
  return `${targetPrefix}${dataset}`;
}

/** The s3:// URL of an ingest's dataset (<target>/<dataset>/), for messages. */
export function datasetUrl(r: { targetBucket: string; targetPrefix: string; dataset: string }): string {
  return formatS3Url({ bucket: r.targetBucket, key: `${datasetPrefix(r.targetPrefix, r.dataset)}/` });
}

export function stagePrefix(targetPrefix: string, dataset: string, stage: string): string {
  return `${datasetPrefix(targetPrefix, dataset)}/${stage}/`;
}

export interface PartitionKeys {
  output: string;
  rejects: string;
  manifest: string;
}

const SUFFIX = { output: '.avro', rejects: '.rejects.avro', manifest: '.json' } as const;

export function partitionKeys(targetPrefix: string, dataset: string, stage: string, partition: string, version: string): PartitionKeys {
  const base = `${stagePrefix(targetPrefix, dataset, stage)}${partition}/${version}`;
  return { output: `${base}${SUFFIX.output}`, rejects: `${base}${SUFFIX.rejects}`, manifest: `${base}${SUFFIX.manifest}` };
}

const PARTITION_FILE = /^((?:.*\/)?p-[0-9a-f]{12}\/[^/]+?)(\.rejects\.avro|\.avro|\.json)$/;

/**
 * What a key (or URL) of this layout holds: a partition's output, rejects or manifest, and the
 * stem the three share; null for any other key.
 */
export function partitionFileOf(key: string): { kind: keyof PartitionKeys; stem: string } | null {
  const m = PARTITION_FILE.exec(key);
  if (!m) return null;
  const kind = (Object.keys(SUFFIX) as (keyof PartitionKeys)[]).find((k) => SUFFIX[k] === m[2])!;
  return { kind, stem: m[1] };
}

export function markerKey(targetPrefix: string, dataset: string): string {
  return `${datasetPrefix(targetPrefix, dataset)}/${DATASET_MARKER}`;
}

export function planKey(targetPrefix: string, dataset: string, planId: string): string {
  return `${datasetPrefix(targetPrefix, dataset)}/_plans/${planId}.json`;
}

export function runsPrefix(targetPrefix: string, dataset: string): string {
  return `${datasetPrefix(targetPrefix, dataset)}/_runs/`;
}

export function runManifestKey(targetPrefix: string, dataset: string, workflowId: string, runId: string): string {
  const safe = workflowId.replace(/[^A-Za-z0-9._-]/g, '_');
  return `${runsPrefix(targetPrefix, dataset)}${safe}/${runId}.json`;
}
