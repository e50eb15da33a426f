import { Command, InvalidArgumentError } from 'commander';
import { cliConfig } from '../config';
import { s3Client } from '../../storage/client';
import { isCodecName } from '../../avro/codecs';
import { FlatFormat } from '../../formats/flat';
import { importFlatFiles } from '../../tools/import';
import { int } from '../args';
import { counted } from '../../log/shown';

export function registerImport(program: Command): void {
  program
    .command('import <from>')
    .description('import local or S3 flat files (csv, jsonl, json) into raw Avro partitions, without Temporal')
    .requiredOption('--to <url>', 's3:// prefix to write part-NNNNN.avro (and _rejects/, _manifests/) under')
    .option('--format <fmt>', 'csv, jsonl or json (default: from file names)')
    .option('--schema <file.avsc>', 'Avro schema to convert records to (default: infer one and print it)')
    .option('--partition-records <n>', 'records per partition', int('partition-records', 1, 10_000_000), 50_000)
    .option('--codec <codec>', 'null, deflate, snappy or zstandard', 'zstandard')
    .action(async (from: string, o: { to: string; format?: string; schema?: string; partitionRecords: number; codec: string }) => {
      if (o.format && !['csv', 'jsonl', 'json'].includes(o.format)) throw new InvalidArgumentError('--format must be csv, jsonl or json');
      if (!isCodecName(o.codec)) throw new InvalidArgumentError('--codec must be null, deflate, snappy or zstandard');
      const cfg = cliConfig();
      const r = await importFlatFiles(s3Client(cfg.s3), {
        from, to: o.to, format: o.format as FlatFormat | undefined, schemaFile: o.schema, partitionRecords: o.partitionRecords, codec: o.codec,
      });
      for (const sc of r.inferredSchemas) process.stdout.write(`${JSON.stringify(sc, null, 2)}\n`);
      process.stderr.write(`imported ${counted(r.partitions, 'partition')}: records in ${r.records.in}, out ${r.records.out}, rejected ${r.records.rejected}\n`);
      for (const u of r.outputs) process.stderr.write(`  ${u}\n`);
      if (r.empty.length) process.stderr.write(`left out ${counted(r.empty.length, 'empty file')} (no records):\n${r.empty.map((u) => `  ${u}\n`).join('')}`);
    });
}
