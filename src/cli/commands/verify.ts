import { Command } from 'commander';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Progress } from '../../../workflows/state';
import { Config } from '../../config';
import { cliConfig } from '../config';
import { describeRun } from '../workflow-lookup';
import { datasetUrlOf, runInputOf } from '../run-input';
import { runManifests } from '../../tools/history';
import { connectClient } from '../../client';
import { s3Client } from '../../storage/client';
import { parseS3Url } from '../../storage/s3url';
import type { IngestSummary, RunManifest } from '../../manifest/run';
import { getJson } from '../../storage/objects';
import { checkSnapshotEntries, latestSnapshotUnder, snapshotFileOf } from '../../tools/verify-snapshot';
import { MANIFESTS_LOOKED_FOR, verifyManifests, verifyObject, verifyStageDirs } from '../../tools/verify';
import { counted } from '../../log/shown';

export function registerVerify(program: Command): void {
  program
    .command('verify <target>')
    .description("decode everything and check manifests' counts and checksums: an s3:// object, a snapshot, a dataset or stage directory, or a workflow id")
    .addHelpText('after', `
A dataset directory (s3://bucket/prefix/<dataset>/): every partition manifest under it, and the
latest snapshot's entries against the manifests they name (records, sha256, output URL).
A snapshot (<dataset>/_snapshots/00000042.json): its entries against their manifests, and the
outputs they name decoded.`)
    .action(async (target: string) => {
      const cfg = cliConfig();
      const s3 = s3Client(cfg.s3);
      let report;
      let what = target.endsWith('.avro') ? 'object' : 'partitions';
      const snap = snapshotFileOf(target);
      if (snap && 'part' in snap) {
        throw new Error(`${target} is a part file of a snapshot (it holds some of a large snapshot's entries): verify the snapshot head that lists it (${snap.dataset}_snapshots/<8 digits>.json) or the dataset, ${snap.dataset}`);
      } else if (snap) {
        const check = await checkSnapshotEntries(s3, snap.dataset, snap.snapshot);
        report = await verifyManifests(s3, check.manifests);
        report = { checked: check.entries, problems: [...check.problems, ...report.problems] };
        what = `entries of snapshot ${snap.snapshot}`;
      } else if (target.startsWith('s3://')) {
        report = target.endsWith('.avro') ? await verifyObject(s3, target) : await verifyStageDirs(s3, [target]);
        // Nothing checked is not "all good": a typo'd dataset or stage name finds nothing at all.
        if (report.checked === 0) {
          const there = report.listed ? `it holds ${counted(report.listed, 'other object')}` : 'nothing at all is stored under it: check the bucket, dataset and stage names';
          throw new Error(`no partflow outputs under ${target}: looked for ${MANIFESTS_LOOKED_FOR}; ${there}`);
        }
        // A dataset: its latest snapshot is what consumers read; its entries must agree with the manifests.
        const latest = target.endsWith('.avro') ? 0 : await latestSnapshotUnder(s3, target);
        if (latest) {
          const check = await checkSnapshotEntries(s3, target.replace(/\/?$/, '/'), latest);
          report = { ...report, problems: [...report.problems, ...check.problems] };
          what = `partitions and the ${check.entries} entries of snapshot ${latest}`;
        }
      } else {
        const { client, connection } = await connectClient(cfg);
        let run: RunManifest;
        let manifest: string;
        try {
          ({ run, manifest } = await runManifestOf(client, client.workflow.getHandle(target), cfg, s3));
        } finally {
          await connection.close();
        }
        report = await verifyManifests(s3, Object.values(run.committed).flatMap((list) => list.map((c) => c.manifest)));
        if (report.checked === 0) throw new Error(`${target} committed no partitions (its run manifest: ${manifest}): nothing to verify`);
        // verify checks what the run committed; what it did not commit is the run's story, said so that "all good" is not read as "the run succeeded".
        const missed = [[run.failures.length, 'failed'], [run.blocked.length, 'blocked'], [run.cancelled?.length ?? 0, 'cancelled']].filter(([n]) => n).map(([n, what]) => `${n} ${what}`);
        if (missed.length) process.stderr.write(`note: ${target} ended ${run.status} with (stage, partition) pairs ${missed.join(', ')}, which committed nothing to verify; \`partflow partitions ${target} --dataset ${run.outputPrefix}\` lists them\n`);
      }
      for (const p of report.problems) process.stdout.write(`PROBLEM ${p}\n`);
      process.stdout.write(`verified ${what === 'partitions' ? counted(report.checked, 'partition') : `${report.checked} ${what}`}: ${report.problems.length ? counted(report.problems.length, 'problem') : 'all good'}\n`);
      if (report.problems.length) process.exitCode = 1;
    });
}

/**
 * The run manifest of a closed run: a completed run's result names it; a cancelled run wrote one
 * too (found under its dataset, which its input names). A running run is refused: waiting on it
 * would hang, silently, for as long as it runs (days, when it waits for a retry).
 */
async function runManifestOf(client: Client, handle: WorkflowHandle, cfg: Config, s3: S3Client): Promise<{ run: RunManifest; manifest: string }> {
  const status = (await describeRun(handle, cfg)).status.name;
  if (status === 'COMPLETED') {
    const summary = (await handle.result()) as IngestSummary;
    const loc = parseS3Url(summary.manifest);
    return { run: await getJson<RunManifest>(s3, loc.bucket, loc.key, 1024 ** 3), manifest: summary.manifest };
  }
  let progress: Partial<Progress> | undefined;
  // A closed run's query needs a worker to replay it: not worth the wait for a hint.
  if (status === 'RUNNING') {
    try {
      progress = await handle.query<Progress>('progress');
    } catch {
      progress = undefined;
    }
  }
  // The plan lies at <dataset>/_plans/<id>.json; else the run's input names the dataset.
  const dataset = /^(s3:\/\/.+\/)_plans\/[^/]+\.json$/.exec(progress?.plan ?? '')?.[1]
    ?? datasetUrlOf(await runInputOf(client, handle.workflowId).catch(() => undefined));
  const instead = `verify the dataset's outputs instead: partflow verify ${dataset ?? 's3://<bucket>/<prefix>/<dataset>/'}`;
  if (status === 'RUNNING') {
    const phase = progress?.phase === 'waiting-for-retry' ? 'waiting for a retry' : progress?.phase;
    throw new Error(`${handle.workflowId} is still running${phase ? ` (${phase})` : ''}: verify it when it ends, or ${instead}`);
  }
  // A cancelled run writes its run manifest before it ends; a failed or terminated one has none, usually.
  const runs = dataset ? await runManifests(s3, dataset, handle.workflowId).catch(() => []) : [];
  const last = runs[runs.length - 1];
  if (last) return { run: last, manifest: last.manifest };
  throw new Error(`${handle.workflowId} is ${status.toLowerCase().replace(/_/g, ' ')} and wrote no run manifest${dataset ? ` under ${dataset}_runs/` : ''} (no list of its partitions): ${instead}`);
}
