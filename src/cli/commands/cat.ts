import { S3Client } from '@aws-sdk/client-s3';
import { Command } from 'commander';
import { once } from 'node:events';
import { cliConfig } from '../config';
import { ContainerReader } from '../../avro/container-reader';
import { readAvroRecords } from '../../io/avro-object-reader';
import { hasScheme, objectSource } from '../../tools/object-source';
import { s3Client } from '../../storage/client';
import { listObjects } from '../../storage/objects';
import { formatS3Url, parseS3Url } from '../../storage/s3url';
import { int } from '../args';
import { catJsonLine } from '../../tools/cat-json';

export function registerCat(program: Command): void {
  program
    .command('cat <url>')
    .description('print the records of an Avro object (an s3:// URL or a local file) as JSON lines')
    .option('--limit <n>', 'stop after n records', int('limit', 0, Number.MAX_SAFE_INTEGER))
    .action(async (url: string, o: { limit?: number }) => {
      const s3 = () => s3Client(cliConfig().s3);
      let records: AsyncIterable<{ record: unknown }>;
      if (hasScheme(url)) {
        const loc = parseS3Url(url);
        if (loc.key === '' || loc.key.endsWith('/')) await refusePrefix(s3(), loc.bucket, loc.key, url);
        records = readAvroRecords(s3(), loc.bucket, loc.key);
      } else {
        const source = await objectSource(url, s3);
        records = (await ContainerReader.open(await source.open(), { name: source.name })).records();
      }
      let n = 0;
      let chunk = '';
      for await (const { record } of records) {
        if (o.limit !== undefined && n >= o.limit) break;
        chunk += catJsonLine(record) + '\n';
        n++;
        if (chunk.length >= CHUNK_CHARS) {
          await print(chunk);
          chunk = '';
        }
      }
      await print(chunk);
    });
}

const CHUNK_CHARS = 64 * 1024;

/**
 * Writes to stdout at the reader's pace: a reader slower than the decoding (a pipe into a script)
 * would otherwise have the whole output pile up in memory, and what it had not taken when the
 * command exited was lost.
 */
async function print(text: string): Promise<void> {
  if (text && !process.stdout.write(text)) await once(process.stdout, 'drain');
}

/** A prefix holds many objects (a stage's, every content version of it): name the Avro ones instead of guessing. */
async function refusePrefix(s3: S3Client, bucket: string, prefix: string, url: string): Promise<never> {
  const avro = (await listObjects(s3, bucket, prefix)).filter((o) => o.key.endsWith('.avro'));
  const some = avro.slice(0, 5).map((o) => `  ${formatS3Url({ bucket, key: o.key })}`).join('\n');
  throw new Error(avro.length
    ? `${url} is a prefix; cat reads one object. Avro objects under it (${avro.length} in all):\n${some}`
    : `${url} is a prefix with no Avro objects under it; cat reads one object`);
}
