import { Command } from 'commander';
import { cliConfig } from '../config';
import { datasetRef } from '../../snapshots/layout';
import { readHead, snapshotNumbers } from '../../snapshots/store';
import type { SnapshotHead } from '../../snapshots/types';
import { s3Client } from '../../storage/client';
import { int } from '../args';
import { table } from '../print';

const sum = (h: SnapshotHead, f: (c: { added: string[]; changed: string[]; removed: string[] }) => string[]) => Object.values(h.changes).reduce((n, c) => n + f(c).length, 0);

export function registerSnapshots(program: Command): void {
  program
    .command('snapshots <datasetUrl>')
    .description("a dataset's snapshots (s3://bucket/prefix/dataset/): time, run, status, counts and changes since the parent")
    .option('--last <n>', 'only the newest n', int('last', 1, 1_000_000))
    .option('--json', 'print the snapshot heads as JSON')
    .addHelpText('after', `
Every ingest that ends commits the next snapshot of its dataset (<dataset>/_snapshots/00000042.json).
"carried" counts partitions the run failed whose last good output the snapshot keeps, and those
it no longer planned whose source objects went only to partitions that failed (an old pack that a
new, failing object joined); "missing" failed ones that never had an output. A superseded
snapshot (its run read the source before the latest one's did) keeps its parent's partitions,
status and counts. See also: partflow changes, partflow diff, partflow export.`)
    .action(async (datasetUrl: string, o: { last?: number; json?: boolean }) => {
      const s3 = s3Client(cliConfig().s3);
      const d = datasetRef(datasetUrl);
      // A mistyped URL has no snapshots either: it fails, where a dataset whose first ingest has not ended does not.
      const numbers = await snapshotNumbers(s3, d);
      const heads = await Promise.all(numbers.slice(o.last ? -o.last : 0).map((n) => readHead(s3, d, n)));
      if (o.json) return void process.stdout.write(JSON.stringify(heads.map(({ stages: _s, ...h }) => h), null, 2) + '\n');
      if (heads.length === 0) return void process.stdout.write(`${datasetUrl} has no snapshots yet: an ingest commits one when it ends\n`);
      table(heads.map((h) => {
        const c = Object.values(h.counts);
        return {
          snapshot: h.snapshot, parent: h.parent, time: h.committedAt, status: h.status, run: h.run.workflowId,
          partitions: c.length ? Math.max(...c.map((x) => x.partitions)) : 0, records: Object.entries(h.counts).map(([s, x]) => `${s} ${x.records}`).join(', '),
          added: sum(h, (x) => x.added), changed: sum(h, (x) => x.changed), removed: sum(h, (x) => x.removed),
          carried: c.reduce((n, x) => n + x.carriedForward, 0), missing: c.reduce((n, x) => n + x.missing, 0),
        };
      }));
    });
}
