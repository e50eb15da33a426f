import { Command, InvalidArgumentError, Option } from 'commander';
import type { S3Client } from '@aws-sdk/client-s3';
import { DEFAULTS } from '../../config';
import { cliConfig } from '../config';
import { datasetRef } from '../../snapshots/layout';
import { ABANDONED_WINDOWS_MS, applyRetention, Doomed, planRetention } from '../../snapshots/retention';
import { s3Client } from '../../storage/client';
import { abortUploads, StaleUpload, staleUploads } from '../../tools/gc';
import { sortUploads, UploadOwner } from '../../tools/upload-owner';
import { formatS3Url } from '../../storage/s3url';
import { formatMs } from '../../schedules/spec';
import { durationArg, int } from '../args';
import { counted } from '../../log/shown';
import { isAwsEndpoint } from '../../storage/failures';

interface GcOptions {
  uploads?: boolean; allUploads?: boolean; bucket?: string; prefix: string; olderThan: number; dryRun?: boolean;
  keepSnapshots?: number; grace: number; abandonedAfter: number; yes?: boolean; json?: boolean;
}

export function registerGc(program: Command): void {
  program
    .command('gc [datasetUrl]')
    .description('clean up: <dataset> --keep-snapshots N deletes what no kept snapshot references; --uploads aborts partflow\'s stale multipart uploads; both are a dry run unless --yes')
    .option('--keep-snapshots <n>', 'dataset retention: keep the newest n snapshots (and those consumer cursors point at) and what they reference', int('keep-snapshots', 1, 99_999_999))
    .addOption(new Option('--grace <duration>', 'dataset retention: never delete anything younger than this, e.g. 7d, 36h, 1.5d; make it longer than any ingest runs, waitForRetry included')
      .argParser(durationArg('grace')).default(7 * 86_400_000, '7d'))
    .addOption(new Option('--abandoned-after <duration>', 'dataset retention: the window results (_windows/) of a run with no run manifest go once the newest is older than this (a live run may wait a waitForRetry, then a partitionTimeout, each up to a year, between saves; its run manifest would lack what gc deleted)')
      .argParser(durationArg('abandoned-after')).default(ABANDONED_WINDOWS_MS, formatMs(ABANDONED_WINDOWS_MS)))
    .option('--yes', 'delete (dataset retention) or abort (--uploads); without it, only list what would be deleted (and the bytes) or aborted')
    .option('--json', 'dataset retention: print the plan as JSON')
    .option('--uploads', 'abort partflow\'s multipart uploads older than --older-than (a dry run unless --yes)')
    .option('--all-uploads', 'with --uploads: every stale upload under --prefix, also those that are not partflow\'s (another program\'s upload in progress is lost)')
    .option('--bucket <bucket>', `with --uploads: bucket to sweep (default PARTFLOW_BUCKET, else ${DEFAULTS.bucket})`)
    .option('--prefix <prefix>', 'with --uploads: only uploads under this key prefix', '')
    .addOption(new Option('--older-than <duration>', 'with --uploads: age threshold, e.g. 90s, 30m, 24h, 1.5d').argParser(durationArg('older-than')).default(86_400_000, '24h'))
    .option('--dry-run', 'with --uploads: list what would be aborted (the default without --yes)')
    .addHelpText('after', `
Stale multipart uploads (a dry run unless --yes):
  partflow gc --uploads [--older-than 24h] [--bucket b] [--prefix p/] [--yes] [--all-uploads]
aborts the multipart uploads older than --older-than (by when they were started) under --prefix
that partflow started: those inside a dataset folder (one holding _partflow.json), an import's
part-NNNNN.avro and _rejects/part-NNNNN.avro once its _manifests/ holds a partition manifest, and
an export's partitions/*.jsonl.gz beside its _export.started.json. Any other upload, another
program's (a bucket may be shared), is left alone and named; --all-uploads takes it too.

Dataset retention (a dry run unless --yes):
  partflow gc s3://partflow/datasets/offers/ --keep-snapshots 10 [--grace 7d] [--yes]
deletes, under the dataset only, outputs, rejects and partition manifests, snapshot files and part
files, run manifests and plans that no kept snapshot references and that are older than --grace,
and the window results (_windows/) an ingest writes its run manifest from: a run's once its run
manifest has existed for --grace, or, with none, once the newest is older than --abandoned-after
(the run was terminated). It deletes what refers to an object before the object (snapshot files,
window results, run manifests, partition manifests, then outputs and rejects, then plans), so an
interrupted gc leaves no reference to a deleted object; the next gc deletes what it left.
Kept, each with everything it references: the newest n snapshots, every snapshot a consumer's
cursor points at (cursors are read again right before deleting), every snapshot superseded less
than --grace ago (a consumer may have started reading it while it was the latest) and any snapshot
file younger than --grace. It never touches source data, anything outside partflow's layout,
_consumers/, _checkpoints/, _partflow.json, or another dataset nested inside this one.`)
    .action(async (datasetUrl: string | undefined, o: GcOptions) => {
      const cfg = cliConfig();
      const s3 = s3Client(cfg.s3);
      if (o.uploads) {
        if (datasetUrl !== undefined || o.keepSnapshots !== undefined) throw new InvalidArgumentError('--uploads sweeps a bucket: give no dataset and no --keep-snapshots');
        if (o.dryRun && o.yes) throw new InvalidArgumentError('--dry-run and --yes contradict each other: give one');
        const bucket = o.bucket ?? cfg.bucket;
        // Only AWS is known to filter uploads by any prefix (see staleUploads).
        const serverPrefix = cfg.s3.endpoint === undefined || isAwsEndpoint(cfg.s3.endpoint);
        const stale = await staleUploads(s3, bucket, o.prefix, o.olderThan, { serverPrefix });
        const { ours, foreign } = o.allUploads ? { ours: stale, foreign: [] } : await sortUploads(s3, bucket, stale);
        return void await sweepUploads(s3, bucket, ours, foreign, !!o.yes);
      }
      if (o.allUploads) throw new InvalidArgumentError('--all-uploads goes with --uploads');
      if (datasetUrl === undefined || o.keepSnapshots === undefined) throw new InvalidArgumentError('give <datasetUrl> --keep-snapshots <n> (dataset retention) or --uploads (stale multipart uploads)');
      const plan = await planRetention(s3, datasetRef(datasetUrl), { keepSnapshots: o.keepSnapshots, graceMs: o.grace, abandonedMs: o.abandonedAfter });
      for (const c of plan.cursors.filter((x) => x.missing)) {
        process.stderr.write(`partflow: warning: consumer "${c.consumer}"'s cursor points at snapshot ${c.snapshot}, which ${plan.dataset} does not have: it holds nothing back, and that consumer cannot read changes until its cursor is moved (partflow changes ${plan.dataset} --consumer ${c.consumer} --commit N --rewind; N=0 to load everything again)\n`);
      }
      for (const url of plan.nested) process.stderr.write(`partflow: ${url} is another dataset (it has its own _partflow.json): left alone; gc it on its own\n`);
      if (o.json) process.stdout.write(JSON.stringify({ ...plan, deleted: !!o.yes }, null, 2) + '\n');
      const line = (x: Doomed, verb: string) => process.stdout.write(`${verb} s3://${plan.bucket}/${x.key} (${x.size} bytes, ${x.category}, ${x.lastModified})\n`);
      if (!o.json && !o.yes) for (const x of plan.delete) line(x, 'would delete');
      const spared: string[] = [];
      let [count, bytes] = [plan.delete.length, plan.bytes];
      if (o.yes) {
        bytes = 0;
        count = await applyRetention(s3, plan, (x) => {
          bytes += x.size;
          if (!o.json) line(x, 'deleted');
        }, (c) => spared.push(`${c.consumer}@${c.snapshot}`));
        if (spared.length) process.stderr.write(`partflow: consumer cursors moved since gc listed them (${spared.join(', ')}): those snapshots and what they reference were kept\n`);
      }
      if (!o.json) {
        const cursors = plan.cursors.length ? `; consumer cursors: ${plan.cursors.map((c) => `${c.consumer}@${c.snapshot}${c.missing ? ' (no such snapshot)' : ''}`).join(', ')}` : '';
        const recent = plan.recent.length ? ` (${plan.recent.join(', ')} superseded or written less than ${formatMs(o.grace)} ago)` : '';
        const done = o.yes ? 'deleted (or already gone: another gc may have deleted some)' : 'would be deleted (dry run; --yes deletes)';
        const windows = plan.windows.count ? `; ${plan.windows.count} window results (${plan.windows.bytes} bytes) of ${plan.windows.runs} runs without a run manifest (or with one younger than ${formatMs(o.grace)}) kept` : '';
        process.stdout.write(`kept snapshots ${plan.kept.join(', ')}${recent}${cursors}; ${count} objects, ${bytes} bytes ${done}; ${plan.young.count} unreferenced objects (${plan.young.bytes} bytes) younger than ${formatMs(o.grace)} kept${windows}\n`);
      }
    });
}

/** Lists, and with `yes` aborts, the stale uploads gc may take; names those it leaves alone. */
async function sweepUploads(s3: S3Client, bucket: string, ours: (StaleUpload & { owner?: UploadOwner })[], foreign: StaleUpload[], yes: boolean): Promise<void> {
  const url = (key: string) => formatS3Url({ bucket, key });
  for (const u of ours) {
    const owner = u.owner ? `, in the ${u.owner.kind} ${url(u.owner.folder)}` : '';
    process.stdout.write(`${yes ? 'abort' : 'would abort'} ${url(u.key)} (upload ${u.uploadId}, started ${u.initiated.toISOString()}${owner})\n`);
  }
  const n = yes ? await abortUploads(s3, bucket, ours) : 0;
  const done = yes ? `, ${n} aborted` : ' would be aborted (dry run; --yes aborts)';
  const named = foreign.slice(0, 3).map((u) => url(u.key)).join(', ') + (foreign.length > 3 ? ` and ${foreign.length - 3} more` : '');
  const left = foreign.length ? `; ${counted(foreign.length, 'stale upload')} left alone, not partflow's (${named}): --all-uploads includes them` : '';
  process.stdout.write(`${counted(ours.length, 'stale upload')}${done}${left}\n`);
}
