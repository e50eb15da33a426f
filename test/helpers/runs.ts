import { S3Client } from '@aws-sdk/client-s3';
import { PartitionManifest } from '../../src/manifest/partition';
import { IngestSummary, RunManifest, RunPartition } from '../../src/manifest/run';
import { getJson } from './s3';

/** The run manifest of a finished ingest. */
export function runOf(s3: S3Client, summary: IngestSummary): Promise<RunManifest> {
  return getJson<RunManifest>(s3, summary.manifest);
}

/** One stage's committed partition by its name ("birdstrikes.csv#2/4", "messy.csv", "a.avro+3"). */
export function part(run: RunManifest, stage: string, name: string): RunPartition {
  const p = (run.committed[stage] ?? []).find((c) => c.name === name);
  if (!p) throw new Error(`no committed ${stage} partition named ${name}; have ${(run.committed[stage] ?? []).map((c) => c.name).join(', ')}`);
  return p;
}

export function manifestOf(s3: S3Client, p: RunPartition): Promise<PartitionManifest> {
  return getJson<PartitionManifest>(s3, p.manifest);
}
