import { Command } from 'commander';
import { cliConfig } from '../config';
import { s3Client } from '../../storage/client';
import { inspectObject } from '../../tools/inspect';
import { indentJson } from '../../tools/json-indent';
import { objectSource } from '../../tools/object-source';

export function registerInspect(program: Command): void {
  program
    .command('inspect <url>')
    .description('show an Avro object (an s3:// URL or a local file): schema, codec, blocks, records, size, sync marker')
    .option('--json', 'print JSON')
    .action(async (url: string, o: { json?: boolean }) => {
      const i = await inspectObject(await objectSource(url, () => s3Client(cliConfig().s3)));
      const { schemaJson, ...shown } = i;
      if (o.json) {
        // The schema as the header has it: a parsed one would round a long default beyond 2^53.
        const mark = `\u0000schema:${process.pid}`;
        const json = JSON.stringify({ ...shown, schema: mark }, null, 2).replace(JSON.stringify(mark), () => indentJson(schemaJson, '  '));
        process.stdout.write(json + '\n');
        return;
      }
      const lines = [
        `object:       ${i.url}`, `size:         ${i.size} bytes (header ${i.headerBytes})`, `codec:        ${i.codec}`,
        `records:      ${i.records} in ${i.blocks} blocks (largest ${i.largestBlock.records} records, ${i.largestBlock.bytes} bytes uncompressed)`,
        `uncompressed: ${i.uncompressedBytes} bytes`, `sync marker:  ${i.syncMarker}`,
        ...Object.entries(i.metadata).map(([k, v]) => `meta:         ${k} = ${v}`),
        ...(i.trailingBytes ? [`warning:      ${i.trailingBytes} trailing bytes after the last block`] : []),
        `schema:       ${indentJson(schemaJson, '              ')}`,
      ];
      process.stdout.write(lines.join('\n') + '\n');
    });
}
