import { Command } from 'commander';
import { cliConfig } from '../config';
import { datasetChanges } from '../../snapshots/consume';
import { s3Client } from '../../storage/client';
import { int } from '../args';
import { printChanges } from './changes';

export function registerDiff(program: Command): void {
  program
    .command('diff <datasetUrl> <from> <to>')
    .description('partitions added, changed and removed between two snapshots of a dataset (net: the snapshots between do not matter)')
    .option('--stage <name>', 'only this stage')
    .option('--json', 'print JSON')
    .action(async (datasetUrl: string, from: string, to: string, o: { stage?: string; json?: boolean }) => {
      const n = int('snapshot', 0, 99_999_999);
      const r = await datasetChanges(datasetUrl, { since: n(from), to: n(to), stage: o.stage, s3: s3Client(cliConfig().s3) });
      printChanges(r, o.json);
    });
}
