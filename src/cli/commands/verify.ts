import { Command } from 'commander';
import { loadConfig } from '../../config';
import { connectClient } from '../../client';
import { s3Client } from '../../storage/client';
import { parseS3Url } from '../../storage/s3url';
import type { IngestSummary, RunManifest } from '../../manifest/run';
import { getJson } from '../../storage/objects';
import { verifyManifests, verifyObject, verifyStageDirs } from '../../tools/verify';

export function registerVerify(program: Command): void {
  program
    .command('verify <target>')
    .description("decode everything and check manifests' counts and checksums: an s3:// object, a stage directory, or a workflow id")
    .action(async (target: string) => {
      const cfg = loadConfig();
      const s3 = s3Client(cfg.s3);
      let report;
      if (target.startsWith('s3://')) {
        report = target.endsWith('.avro') ? await verifyObject(s3, target) : await verifyStageDirs(s3, [target]);
      } else {
        const { client, connection } = await connectClient(cfg);
        const summary = (await client.workflow.getHandle(target).result()) as IngestSummary;
        await connection.close();
        const loc = parseS3Url(summary.manifest);
        const run = await getJson<RunManifest>(s3, loc.bucket, loc.key, 1024 ** 3);
        report = await verifyManifests(s3, Object.values(run.committed).flatMap((list) => list.map((c) => c.manifest)));
      }
      for (const p of report.problems) process.stdout.write(`PROBLEM ${p}\n`);
      const what = target.endsWith('.avro') ? 'object' : 'partitions';
      process.stdout.write(`verified ${report.checked} ${what}: ${report.problems.length ? `${report.problems.length} problems` : 'all good'}\n`);
      if (report.problems.length) process.exitCode = 1;
    });
}
