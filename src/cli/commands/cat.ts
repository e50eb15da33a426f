import { Command } from 'commander';
import { loadConfig } from '../../config';
import { readAvroRecords } from '../../io/avro-object-reader';
import { s3Client } from '../../storage/client';
import { parseS3Url } from '../../storage/s3url';
import { int } from '../args';

export function registerCat(program: Command): void {
  program
    .command('cat <url>')
    .description('print the records of an Avro object as JSON lines')
    .option('--limit <n>', 'stop after n records', int('limit', 0, Number.MAX_SAFE_INTEGER))
    .action(async (url: string, o: { limit?: number }) => {
      const cfg = loadConfig();
      const loc = parseS3Url(url);
      let n = 0;
      for await (const { record } of readAvroRecords(s3Client(cfg.s3), loc.bucket, loc.key)) {
        if (o.limit !== undefined && n >= o.limit) break;
        process.stdout.write(JSON.stringify(record, (_k, v) => (typeof v === 'bigint' ? v.toString() : v && v.type === 'Buffer' ? Buffer.from(v.data).toString('base64') : v)) + '\n');
        n++;
      }
    });
}
