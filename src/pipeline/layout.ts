/**
 * Where everything lives in the target bucket. Pure, so workflows and activities agree.
 *
 *   <target>/<dataset>/<stage>/<version>/part-00007.avro              the output
 *   <target>/<dataset>/<stage>/<version>/_rejects/part-00007.avro     rejected records, if any
 *   <target>/<dataset>/<stage>/<version>/_manifests/part-00007.json   the partition manifest (commit point)
 *   <target>/<dataset>/_plans/<plan id>.json                          the ingest plan
 *   <target>/<dataset>/_runs/<workflow id>/<run id>.json              the run manifest
 *
 * <version> is "<code version>-<content hash>": it changes whenever the stage's code version,
 * schema, codec or any upstream output changes, so an output key is never reused for different bytes.
 */
export function partitionId(index: number): string {
  return `p-${String(index).padStart(5, '0')}`;
}

export function partitionIndex(id: string): number {
  const m = /^p-(\d{5,})$/.exec(id);
  if (!m) throw new Error(`bad partition id "${id}": expected p-NNNNN`);
  return Number(m[1]);
}

function partName(index: number): string {
  return `part-${String(index).padStart(5, '0')}`;
}

export function outputKey(dir: string, index: number): string {
  return `${dir}/${partName(index)}.avro`;
}

export function rejectsKey(dir: string, index: number): string {
  return `${dir}/_rejects/${partName(index)}.avro`;
}

export function manifestKey(dir: string, index: number): string {
  return `${dir}/_manifests/${partName(index)}.json`;
}

export function datasetPrefix(targetPrefix: string, dataset: string): string {
  return `${targetPrefix}${dataset}`;
}

export function stageDir(targetPrefix: string, dataset: string, stage: string, version: string): string {
  return `${datasetPrefix(targetPrefix, dataset)}/${stage}/${version}`;
}

export function planKey(targetPrefix: string, dataset: string, planId: string): string {
  return `${datasetPrefix(targetPrefix, dataset)}/_plans/${planId}.json`;
}

export function runManifestKey(targetPrefix: string, dataset: string, workflowId: string, runId: string): string {
  const safe = workflowId.replace(/[^A-Za-z0-9._-]/g, '_');
  return `${datasetPrefix(targetPrefix, dataset)}/_runs/${safe}/${runId}.json`;
}
