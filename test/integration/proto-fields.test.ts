import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ContainerReader } from '../../src/avro/container-reader';
import { IngestSummary } from '../../src/manifest/run';
import { PipelineDefinition } from '../../src/pipeline/types';
import { copyPipeline } from '../../src/pipelines/copy';
import { importFlatFiles } from '../../src/tools/import';
import { s3Client } from '../../src/storage/client';
import { chunked } from '../helpers/avro';
import { runCli } from '../helpers/cli';
import { fastavroRead, fastavroWrite } from '../helpers/fastavro';
import { executeWithin } from '../helpers/pending';
import { runOf } from '../helpers/runs';
import { getUrl } from '../helpers/s3';
import { startHarness, TestHarness } from '../helpers/stack';

/**
 * An Avro source with a record field named `__proto__` (valid Avro; fastavro writes it here)
 * through the real stack: avsc's compiled record code set it as the prototype, so copying
 * failed with 'invalid "int": {}' after five attempts, and a transform never saw the field.
 */
const BUCKET = 'it-proto-fields';
const FIELDS = [{ name: '__proto__', type: 'int' }, { name: 'other', type: 'int' }];
const SOURCE = fastavroWrite({ type: 'record', name: 'O', fields: FIELDS }, '[{"__proto__": 1, "other": 7}, {"__proto__": -3, "other": 8}, {"__proto__": 0, "other": 9}]', 'deflate');

// Read as o@2: the int widened to a long, a field added with its default.
const schemasDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-proto-schemas-'));
fs.mkdirSync(path.join(schemasDir, 'o'));
fs.writeFileSync(path.join(schemasDir, 'o', 'v1.avsc'), JSON.stringify({ type: 'record', name: 'O', fields: FIELDS }));
fs.writeFileSync(path.join(schemasDir, 'o', 'v2.avsc'), JSON.stringify({
  type: 'record', name: 'O', fields: [{ name: '__proto__', type: 'long' }, { name: 'other', type: 'long' }, { name: 'note', type: 'string', default: '' }],
}));

/** The transform sees the field as the record's own property, and in its place among the keys. */
const own = (r: object) => Object.getOwnPropertyDescriptor(r, '__proto__')?.value as number;
const bump: PipelineDefinition = {
  name: 'proto-bump', schemasDir, input: 'o@2',
  stages: [
    { name: 'bump', schema: 'o@2', version: '1', transform: (r: { other: number }) => ({ ...r, other: r.other * 10 + own(r), note: Object.keys(r).join(',') }) },
    { name: 'again', after: ['bump'], schema: 'o@2', version: '1', transform: (r: { other: number }) => ({ ...r, other: r.other + own(r) }) },
  ],
};

let h: TestHarness;
let s3: S3Client;

async function run(pipeline: string, dataset: string): Promise<IngestSummary> {
  return executeWithin<IngestSummary>(h.client, 'ingest', {
    taskQueue: h.cfg.taskQueue, workflowId: `${dataset}-${process.pid}`,
    args: [{ pipeline, source: `s3://${BUCKET}/in/proto.avro`, target: `s3://${BUCKET}/out/`, dataset }],
  }, 60_000);
}

/** The records' bytes: every block's data, decompressed. */
async function recordBytes(file: Buffer): Promise<Buffer> {
  const reader = await ContainerReader.open(chunked(file), { name: 'mem://f.avro' });
  const data: Buffer[] = [];
  for await (const b of reader.blocks()) data.push(b.data);
  return Buffer.concat(data);
}

const lines = (records: unknown[]) => records.map((r) => JSON.stringify(r));

beforeAll(async () => {
  h = await startHarness('proto-fields', [copyPipeline, bump], { bucket: BUCKET });
  s3 = s3Client(h.cfg.s3);
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'in/proto.avro', Body: SOURCE }));
});

afterAll(async () => {
  await h?.stop();
  fs.rmSync(schemasDir, { recursive: true, force: true });
});

describe('a record field named __proto__', () => {
  it('is copied byte for byte, and cat and inspect show it', async () => {
    const r = await run('copy', 'proto-copy');
    expect(r.status).toBe('completed');
    expect(r.stages.copy.records).toEqual({ in: 3, out: 3, rejected: 0, dropped: 0 });
    const out = await getUrl(s3, (await runOf(s3, r)).committed.copy[0].output);
    expect((await recordBytes(out)).equals(await recordBytes(SOURCE))).toBe(true);
    const expected = ['{"__proto__":1,"other":7}', '{"__proto__":-3,"other":8}', '{"__proto__":0,"other":9}'];
    expect(lines(fastavroRead({ out }).out.records)).toEqual(expected);

    const cat = await runCli(h.cfg, 'cat', `s3://${BUCKET}/in/proto.avro`);
    expect(cat.stderr).toBe('');
    expect(cat.stdout.trim().split('\n')).toEqual(expected);
    const inspect = await runCli(h.cfg, 'inspect', `s3://${BUCKET}/in/proto.avro`);
    expect(inspect.code).toBe(0);
    expect(inspect.stdout).toMatch(/records: +3 in 1 blocks/);
    expect(inspect.stdout).toMatch(/"name": "__proto__"/);
  });

  it('reaches a transform as an own property, read through another schema, and is written by it', async () => {
    const r = await run('proto-bump', 'proto-bump');
    expect(r.status).toBe('completed');
    expect(r.stages.bump.records).toEqual({ in: 3, out: 3, rejected: 0, dropped: 0 });
    expect(r.stages.again.records).toEqual({ in: 3, out: 3, rejected: 0, dropped: 0 });
    const committed = (await runOf(s3, r)).committed;
    const bumped = await getUrl(s3, committed.bump[0].output);
    expect(lines(fastavroRead({ bumped }).bumped.records)).toEqual([
      '{"__proto__":1,"other":71,"note":"__proto__,other,note"}',
      '{"__proto__":-3,"other":77,"note":"__proto__,other,note"}',
      '{"__proto__":0,"other":90,"note":"__proto__,other,note"}',
    ]);
    const again = await getUrl(s3, committed.again[0].output);
    expect(fastavroRead({ again }).again.records.map((x) => (x as { other: number }).other)).toEqual([72, 74, 90]);
  });

  it('in a schema given to partflow import takes its default, as do fields named like other Object.prototype properties', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-proto-import-'));
    try {
      // The column "__proto__" is the field "proto" (sanitized); the rows hold no "__proto__" or "toString".
      fs.writeFileSync(path.join(dir, 'rows.csv'), 'id,__proto__\n1,p\n2,q\n');
      fs.writeFileSync(path.join(dir, 'rows.avsc'), JSON.stringify({
        type: 'record', name: 'Row', fields: [
          { name: 'id', type: 'string' }, { name: 'proto', type: 'string' },
          { name: '__proto__', type: 'string', default: 'd' }, { name: 'toString', type: 'string', default: 't' },
        ],
      }));
      const r = await importFlatFiles(s3, { from: path.join(dir, 'rows.csv'), to: `s3://${BUCKET}/imported/`, schemaFile: path.join(dir, 'rows.avsc'), partitionRecords: 10, codec: 'null' });
      expect(r.records).toEqual({ in: 2, out: 2, rejected: 0 });
      const out = await getUrl(s3, r.outputs[0]);
      expect(lines(fastavroRead({ out }).out.records)).toEqual([
        '{"id":"1","proto":"p","__proto__":"d","toString":"t"}',
        '{"id":"2","proto":"q","__proto__":"d","toString":"t"}',
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
