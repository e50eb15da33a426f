import { Command } from 'commander';
import { loadConfig } from '../../config';
import { s3Client } from '../../storage/client';
import { partitionHistory } from '../../tools/history';
import { table } from '../print';

export function registerHistory(program: Command): void {
  program
    .command('history <datasetUrl>')
    .description('every run and snapshot that touched a partition of a dataset (s3://bucket/prefix/dataset/), from the immutable manifests')
    .requiredOption('--partition <id|name|key>', 'the partition: its id (p-3fa9c1d20b7e), its name, or a source key it reads')
    .option('--json', 'print JSON')
    .action(async (datasetUrl: string, o: { partition: string; json?: boolean }) => {
      const entries = await partitionHistory(s3Client(loadConfig().s3), datasetUrl, o.partition);
      if (o.json) process.stdout.write(JSON.stringify(entries, null, 2) + '\n');
      else if (entries.length) {
        table(entries.map((e) => ({
          when: e.when, partition: e.partition, name: e.name, stage: e.stage, result: e.snapshot ? `snapshot ${e.snapshot}: ${e.change}` : e.result, version: e.contentVersion ?? '', attempts: e.attempts ?? '',
          records: e.counts ? `in ${e.counts.in} out ${e.counts.out} rej ${e.counts.rejected} drop ${e.counts.dropped}` : '',
          workflow: e.workflowId, error: e.error ?? '',
        })));
      } else process.stdout.write(`no run touched ${o.partition} under ${datasetUrl}\n`);
    });
}
