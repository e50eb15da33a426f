import { Command } from 'commander';
import { cliConfig } from '../config';
import { describeEndpoint, s3Client } from '../../storage/client';
import { uploadFiles } from '../../tools/upload';

export function registerUpload(program: Command): void {
  program
    .command('upload <from> <to>')
    .description('copy a local file or folder into S3 as it is, for an ingest to read: a folder\'s files go under the s3:// prefix <to> with their relative paths (dot-files left out); objects of the same keys are replaced')
    .action(async (from: string, to: string) => {
      const cfg = cliConfig();
      let bytes = 0;
      const s3 = s3Client(cfg.s3);
      const done = await uploadFiles(s3, from, to, (f) => {
        bytes += f.bytes;
        process.stderr.write(`  ${f.url} (${f.bytes} bytes)\n`);
      });
      process.stderr.write(`uploaded ${done.length} file(s), ${bytes} bytes, to ${await describeEndpoint(s3, cfg.s3)}\n`);
    });
}
