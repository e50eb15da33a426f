import { Command, InvalidArgumentError } from 'commander';
import { cliConfig } from '../config';
import { commitCursor, consumerStart } from '../../snapshots/consume';
import { exportChanges } from '../../snapshots/export';
import { datasetRef } from '../../snapshots/layout';
import { s3Client } from '../../storage/client';
import { int } from '../args';
import { counted } from '../../log/shown';

export function registerExport(program: Command): void {
  program
    .command('export <datasetUrl>')
    .description("export a stage's changed partitions as gzipped JSON Lines (for Solr, Elasticsearch and other bulk loaders), with a removal list")
    .requiredOption('--stage <name>', 'the stage to export')
    .requiredOption('--to <url>', 's3:// prefix to write <dataset name>/<stage>/<from>-<to>/ under')
    .option('--since <n>', 'export the changes since this snapshot (0: everything)', int('since', 0, 99_999_999))
    .option('--consumer <name>', "export the changes since this consumer's cursor")
    .option('--commit', "with --consumer: move the cursor to the exported snapshot once the export is whole")
    .option('--partition-field <field>', 'add the partition id to every record under this field (to delete a partition\'s documents by query; not a field the records have)')
    .option('--json', 'print the export manifest')
    .addHelpText('after', `
Writes, under <to>/<dataset name>/<stage>/<from 8 digits>-<to 8 digits>/:
  partitions/<partition id>.jsonl.gz   every record of each added or changed partition, one JSON object a line
  removed.json                         partitions that disappeared: delete their documents
  _export.json                         the export manifest (written last: present means whole)
  _export.started.json                 the dataset and options of the export (written first)
For a changed partition, delete its old documents before loading the new file.
Running it again resumes an interrupted export (or prints the whole one), keeping a file already
there only if it holds what this export writes; a folder holding an export of another dataset, or
with another --partition-field, or objects but no _export.started.json, is refused.
Refused before anything is written: a --partition-field the records already have, and a snapshot
entry whose output lies outside the dataset. Each output must match its entry's sha256 and records.`)
    .action(async (datasetUrl: string, o: { stage: string; to: string; since?: number; consumer?: string; commit?: boolean; partitionField?: string; json?: boolean }) => {
      if ((o.since === undefined) === (o.consumer === undefined)) throw new InvalidArgumentError('give one of --since <n> or --consumer <name>');
      if (o.commit && o.consumer === undefined) throw new InvalidArgumentError('--commit needs --consumer');
      const s3 = s3Client(cliConfig().s3);
      const d = datasetRef(datasetUrl);
      const since = o.consumer !== undefined ? await consumerStart(s3, d, o.consumer) : o.since!;
      const { url, manifest, alreadyWhole } = await exportChanges(s3, datasetUrl, {
        stage: o.stage, since, target: o.to, partitionField: o.partitionField,
        onPartition: (p) => { if (!o.json) process.stderr.write(`${p.change} ${p.name} (${p.partition}): ${p.records} records -> ${p.file}\n`); },
      });
      if (o.commit && o.consumer !== undefined) await commitCursor(s3, d, o.consumer, manifest.to);
      if (o.json) return void process.stdout.write(JSON.stringify(manifest, null, 2) + '\n');
      if (alreadyWhole && !o.json) process.stderr.write(`already exported (${manifest.exportedAt}): ${url}_export.json\n`);
      process.stdout.write(`exported ${counted(manifest.partitions.length, 'partition')}, ${manifest.records} records, ${manifest.removed.length} removed, snapshots ${manifest.from} -> ${manifest.to}: ${url}\n`);
      if (o.commit) process.stdout.write(`consumer ${o.consumer}: cursor ${since} -> ${manifest.to}\n`);
    });
}
