import { S3Client } from '@aws-sdk/client-s3';
import { Command } from 'commander';
import { cliConfig } from '../config';
import { s3Client } from '../../storage/client';
import { partitionHistory } from '../../tools/history';
import { table } from '../print';
import { prefixIsEmpty } from '../../storage/objects';
import { datasetRef, snapshotsPrefix } from '../../snapshots/layout';

export function registerHistory(program: Command): void {
  program
    .command('history <datasetUrl>')
    .description('every run and snapshot that touched a partition of a dataset (s3://bucket/prefix/dataset/), from the immutable manifests')
    .requiredOption('--partition <id|name|key>', 'the partition: its id (p-3fa9c1d20b7e), its name, or a source key it reads')
    .option('--json', 'print JSON')
    .action(async (datasetUrl: string, o: { partition: string; json?: boolean }) => {
      const s3 = s3Client(cliConfig().s3);
      const entries = await partitionHistory(s3, datasetUrl, o.partition);
      // No entry for a dataset with nothing at all is a wrong dataset URL, not a quiet partition.
      if (entries.length === 0) await refuseEmptyDataset(s3, datasetUrl);
      if (o.json) process.stdout.write(JSON.stringify(entries, null, 2) + '\n');
      else if (entries.length) {
        table(entries.map((e) => ({
          when: e.when, partition: e.partition, name: e.name, stage: e.stage, result: e.snapshot ? `snapshot ${e.snapshot}: ${e.change}` : e.result, version: e.contentVersion ?? '', attempts: e.attempts ?? '',
          records: e.counts ? `in ${e.counts.in} out ${e.counts.out} rej ${e.counts.rejected} drop ${e.counts.dropped}` : '',
          workflow: e.workflowId, error: e.error ?? '',
        })));
      } else process.stdout.write(`no run or snapshot touched ${o.partition} under ${datasetUrl}\n`);
    });
}

async function refuseEmptyDataset(s3: S3Client, datasetUrl: string): Promise<void> {
  const d = datasetRef(datasetUrl);
  if (!(await prefixIsEmpty(s3, d.bucket, `${d.prefix}_runs/`)) || !(await prefixIsEmpty(s3, d.bucket, snapshotsPrefix(d)))) return;
  throw new Error(`${datasetUrl} has no runs and no snapshots at all (nothing under ${datasetUrl.replace(/\/?$/, '/')}_runs/ or _snapshots/): `
    + 'check the dataset URL (s3://bucket/prefix/<dataset>/, the --target and --dataset of its ingests)');
}
