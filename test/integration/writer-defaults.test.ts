import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { Type } from 'avsc';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createActivities } from '../../activities';
import { ContainerEncoder, syncMarkerFor } from '../../src/avro/container';
import { ContainerReader } from '../../src/avro/container-reader';
import { PartitionResult } from '../../src/manifest/partition';
import { resolveIngestInput } from '../../src/pipeline/input';
import { PlanSummary } from '../../src/pipeline/plan';
import { PipelineRegistry } from '../../src/pipeline/registry';
import { ensureBucket } from '../../src/stack/embedded';
import { s3Client } from '../../src/storage/client';
import { getObjectBuffer } from '../../src/storage/objects';
import { chunked } from '../helpers/avro';
import { runCliWith } from '../helpers/cli';
import { testConfig } from '../helpers/stack';

/**
 * An input written by Java avro-tools whose schema has defaults avsc refuses (README, "Avro"):
 * an "@input" stage reads it and writes its schema text into the output exactly as written.
 */
const BUCKET = 'it-writer-defaults';
const cfg = testConfig('writer-defaults', BUCKET);
const SCHEMA = '{"type":"record","name":"Acct","namespace":"bank","fields":[{"name":"id","type":"long"},'
  + '{"name":"limit","type":"long","default":9223372036854775807},{"name":"score","type":"double","default":"NaN"},'
  + '{"name":"note","type":["null","string"],"default":"none"}]}';
const plain = Type.forSchema({
  type: 'record', name: 'Acct', namespace: 'bank', fields: [
    { name: 'id', type: 'long' }, { name: 'limit', type: 'long' }, { name: 'score', type: 'double' }, { name: 'note', type: ['null', 'string'] },
  ],
}, { wrapUnions: 'auto' });
const records = [{ id: 1, limit: 5, score: 0.5, note: null }, { id: 2, limit: 6, score: 1.5, note: 'x' }];
let s3: S3Client;
let file: Buffer;

beforeAll(async () => {
  s3 = s3Client(cfg.s3);
  await ensureBucket(s3, BUCKET);
  const enc = new ContainerEncoder(plain, SCHEMA, { codec: 'null', sync: syncMarkerFor('writer-defaults') });
  const blocks = records.map((r) => enc.add(r) ?? Buffer.alloc(0));
  file = Buffer.concat([enc.header(), ...blocks, enc.flush() ?? Buffer.alloc(0)]);
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'src/acct.avro', Body: file }));
});

describe('writer schema defaults avsc refuses', () => {
  it('an @input stage copies the file, its output header keeping the schema text exactly', async () => {
    const def = { name: 'defaults', stages: [{ name: 'copy', schema: '@input', version: '1', transform: (r: unknown) => r }] };
    const acts = createActivities({ config: cfg, s3, registry: new PipelineRegistry([def]) });
    const env = () => new MockActivityEnvironment({ activityId: 'copy:p-00000', retryPolicy: { maximumAttempts: 1 } }, { logger: new DefaultLogger('ERROR') });
    const plan = (await env().run(acts.planIngest, resolveIngestInput({ pipeline: 'defaults', source: `s3://${BUCKET}/src/`, target: `s3://${BUCKET}/out/` }))) as PlanSummary;
    const res = (await env().run(acts.runStage, { bucket: plan.bucket, planKey: plan.planKey, stage: 'copy', index: 0 })) as PartitionResult;
    expect(res.counts).toEqual({ in: 2, out: 2, rejected: 0, dropped: 0 });
    const reader = await ContainerReader.open(chunked(await getObjectBuffer(s3, BUCKET, res.outputKey!)), { name: 'out' });
    expect(reader.header.schemaJson).toBe(SCHEMA);
    const out: unknown[] = [];
    for await (const { record } of reader.records()) out.push({ ...(record as object) });
    expect(out).toEqual(records);
  });

  it('cat reads the file, and inspect shows its schema as written', async () => {
    const local = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pf-defaults-')), 'acct.avro');
    fs.writeFileSync(local, file);
    const noS3 = { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1', AWS_ACCESS_KEY_ID: 'half' };
    expect(await runCliWith(cfg, noS3, 'cat', local)).toMatchObject({ code: 0, stdout: records.map((r) => JSON.stringify(r)).join('\n') + '\n' });
    const text = await runCliWith(cfg, noS3, 'inspect', local);
    expect(text.stdout).toContain('"default": 9223372036854775807');
    const json = await runCliWith(cfg, noS3, 'inspect', local, '--json');
    expect(json.stdout).toContain('"default": 9223372036854775807');
    expect(JSON.parse(json.stdout).schema).toEqual(JSON.parse(SCHEMA));
    fs.rmSync(path.dirname(local), { recursive: true });
  });
});
