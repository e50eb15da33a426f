import { Command } from 'commander';
import { loadConfig } from '../../config';
import { s3Client } from '../../storage/client';
import { abortUploads, parseDuration, staleUploads } from '../../tools/gc';

export function registerGc(program: Command): void {
  program
    .command('gc')
    .description('clean up after failed work: --uploads aborts stale multipart uploads')
    .requiredOption('--uploads', 'abort multipart uploads older than --older-than')
    .option('--bucket <bucket>', 'bucket to sweep', loadConfig().bucket)
    .option('--prefix <prefix>', 'only uploads under this key prefix', '')
    .option('--older-than <duration>', 'age threshold, e.g. 90s, 30m, 24h, 7d', '24h')
    .option('--dry-run', 'list what would be aborted')
    .action(async (o: { bucket: string; prefix: string; olderThan: string; dryRun?: boolean }) => {
      const s3 = s3Client(loadConfig().s3);
      const stale = await staleUploads(s3, o.bucket, o.prefix, parseDuration(o.olderThan));
      for (const u of stale) process.stdout.write(`${o.dryRun ? 'would abort' : 'abort'} s3://${o.bucket}/${u.key} (upload ${u.uploadId}, started ${u.initiated.toISOString()})\n`);
      const n = o.dryRun ? 0 : await abortUploads(s3, o.bucket, stale);
      process.stdout.write(`${stale.length} stale uploads${o.dryRun ? '' : `, ${n} aborted`}\n`);
    });
}
