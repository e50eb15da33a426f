import { Command, InvalidArgumentError } from 'commander';
import { cliConfig } from '../config';
import { commitCursor, consumerStart, datasetChanges, DatasetChanges, readCursor } from '../../snapshots/consume';
import { datasetRef } from '../../snapshots/layout';
import { s3Client } from '../../storage/client';
import { int } from '../args';
import { table } from '../print';
import { counted } from '../../log/shown';

export function printChanges(r: DatasetChanges, json?: boolean, extra: Record<string, unknown> = {}): void {
  if (json) {
    const changes = r.changes.map((c) => ({ stage: c.stage, change: c.change, partition: c.partition.partition, name: c.partition.name, output: c.partition.output, records: c.partition.records, contentVersion: c.partition.contentVersion, ...(c.previous ? { previous: c.previous.output } : {}) }));
    return void process.stdout.write(JSON.stringify({ dataset: r.dataset, from: r.from, to: r.to, ...extra, changes }, null, 2) + '\n');
  }
  process.stdout.write(`changes from snapshot ${r.from} to ${r.to} of ${r.dataset}: ${counted(r.changes.length, 'partition')}\n`);
  table(r.changes.map((c) => ({ stage: c.stage, change: c.change, partition: c.partition.partition, name: c.partition.name, records: c.change === 'removed' ? '' : c.partition.records, output: c.change === 'removed' ? `(was ${c.partition.output})` : c.partition.output })));
}

export function registerChanges(program: Command): void {
  program
    .command('changes <datasetUrl>')
    .description('partitions added, changed and removed from snapshot N (or a consumer\'s cursor) to the latest, skipping the snapshots between')
    .option('--since <n>', 'the snapshot you have (0: none, everything is added)', int('since', 0, 99_999_999))
    .option('--stage <name>', 'only this stage')
    .option('--consumer <name>', "start from this consumer's cursor (<dataset>/_consumers/<name>.json; 0 if it has none)")
    .option('--commit [n]', 'with --consumer: set the cursor to snapshot n once you have processed up to it; without n, to the snapshot this command reports')
    .option('--rewind', 'with --commit n: allow moving the cursor back to an earlier snapshot (the consumer then processes again what came after it)')
    .option('--json', 'print JSON')
    .addHelpText('after', `
A consumer reads at its own pace and never sees intermediate versions:
  partflow changes s3://partflow/datasets/offers/ --consumer solr --json   # from the cursor to the latest (say 42)
  … load the added and changed partitions, delete the removed ones …
  partflow changes s3://partflow/datasets/offers/ --consumer solr --commit 42
The cursor moves only with --commit, and never back without --rewind. Bare --commit reports and
commits in one step (at-most-once).`)
    .action(async (datasetUrl: string, o: { since?: number; stage?: string; consumer?: string; commit?: string | true; rewind?: boolean; json?: boolean }) => {
      const s3 = s3Client(cliConfig().s3);
      const d = datasetRef(datasetUrl);
      if (o.consumer === undefined && o.commit !== undefined) throw new InvalidArgumentError('--commit needs --consumer');
      if (o.rewind && typeof o.commit !== 'string') throw new InvalidArgumentError('--rewind goes with --commit <n>');
      if (o.consumer !== undefined && o.since !== undefined) throw new InvalidArgumentError('give --since or --consumer, not both (a consumer starts at its cursor)');
      if (o.consumer === undefined && o.since === undefined) throw new InvalidArgumentError('give --since <n> or --consumer <name>');
      if (o.consumer !== undefined && typeof o.commit === 'string') {
        const n = int('--commit', 0, 99_999_999)(o.commit);
        const before = (await readCursor(s3, d, o.consumer))?.snapshot ?? 0;
        await commitCursor(s3, d, o.consumer, n, { rewind: o.rewind });
        return void process.stdout.write(o.json ? JSON.stringify({ consumer: o.consumer, from: before, cursor: n }) + '\n' : `consumer ${o.consumer}: cursor ${before} -> ${n}\n`);
      }
      const since = o.consumer !== undefined ? await consumerStart(s3, d, o.consumer) : o.since!;
      const r = await datasetChanges(datasetUrl, { since, stage: o.stage, s3 });
      if (o.consumer !== undefined && o.commit === true) await commitCursor(s3, d, o.consumer, r.to);
      printChanges(r, o.json, o.consumer !== undefined ? { consumer: o.consumer, committed: o.commit === true } : {});
      if (!o.json && o.consumer !== undefined) {
        process.stdout.write(o.commit === true ? `consumer ${o.consumer}: cursor ${since} -> ${r.to}\n` : `when processed: partflow changes ${datasetUrl} --consumer ${o.consumer} --commit ${r.to}\n`);
      }
    });
}
