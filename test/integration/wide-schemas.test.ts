import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import { createActivities } from '../../activities';
import { MAGIC, META_TYPE, syncMarkerFor } from '../../src/avro/container';
import { resolveIngestInput } from '../../src/pipeline/input';
import { PlanSummary } from '../../src/pipeline/plan';
import { PipelineRegistry } from '../../src/pipeline/registry';
import { builtinPipelines } from '../../src/pipelines';
import { ensureBucket } from '../../src/stack/embedded';
import { s3Client } from '../../src/storage/client';
import { testConfig } from '../helpers/stack';
import { runCli } from '../helpers/cli';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Records too wide for the Avro library to compile (a function parameter per field; V8 allows
 * 65,534): a 40,000-column CSV or a 40,000-field Avro schema failed with V8's "Too many
 * parameters in function definition", naming nothing, and the CSV's was retried 5 times. Both are
 * valid input partflow cannot read: UnsupportedSource, non-retryable, naming object and limit.
 */
const BUCKET = 'it-wide-schemas';
const cfg = testConfig('wide-schemas', BUCKET);
const N = 40_000;
let s3: S3Client;
const acts = () => createActivities({ config: cfg, s3, registry: new PipelineRegistry(builtinPipelines) });
const env = () => new MockActivityEnvironment({ activityId: 'raw:p-00000', retryPolicy: { maximumAttempts: 3 } }, { logger: new DefaultLogger('ERROR') });

beforeAll(async () => {
  s3 = s3Client(cfg.s3);
  await ensureBucket(s3, BUCKET);
});

async function failureOf(key: string, body: Buffer | string, run: (plan: PlanSummary) => Promise<unknown>): Promise<ApplicationFailure> {
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  const plan: PlanSummary = await env().run(acts().planIngest, resolveIngestInput({ pipeline: 'copy', source: `s3://${BUCKET}/${key}`, target: `s3://${BUCKET}/out/`, dataset: key.replace(/\W/g, '-'), pack: false }));
  try {
    await run(plan);
  } catch (err) {
    return err as ApplicationFailure;
  }
  throw new Error('expected the partition to fail');
}

it('an Avro file whose schema has a 40,000-field record: unsupported, not corrupt', async () => {
  const schema = { type: 'record', name: 'Wide', fields: Array.from({ length: N }, (_, i) => ({ name: `f${i}`, type: 'int' })) };
  const sync = syncMarkerFor('wide');
  // Header only (no block): the schema alone is what cannot be read.
  const file = Buffer.concat([MAGIC, META_TYPE.toBuffer({ 'avro.schema': Buffer.from(JSON.stringify(schema)), 'avro.codec': Buffer.from('null') }), sync]);
  const err = await failureOf('avro/wide.avro', file, (plan) => env().run(acts().runStage, { bucket: plan.bucket, planKey: plan.planKey, stage: 'copy', index: 0 }));
  expect(err.type).toBe('UnsupportedSource');
  expect(err.nonRetryable).toBe(true);
  expect(err.message).toContain(`s3://${BUCKET}/avro/wide.avro: header schema: record "Wide" has 40,000 fields, over the 32,767 one record can have here`);
});

it('a CSV file of 40,000 columns: unsupported, named, not retried', async () => {
  const header = Array.from({ length: N }, (_, i) => `c${i}`).join(',');
  const row = Array.from({ length: N }, (_, i) => String(i)).join(',');
  const err = await failureOf('csv/wide.csv', `${header}\n${row}\n`, (plan) => env().run(acts().importPartition, { bucket: plan.bucket, planKey: plan.planKey, index: 0 }));
  expect(err.type).toBe('UnsupportedSource');
  expect(err.nonRetryable).toBe(true);
  expect(err.message).toMatch(new RegExp(`unsupported input s3://${BUCKET}/csv/wide\\.csv: record "\\w+" has 40,000 fields, over the 32,767 one record can have here .*; each CSV column or JSON key is a field$`));
});

it('partflow import of a 40,000-column CSV names the file and the limit', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-wide-'));
  try {
    fs.writeFileSync(path.join(dir, 'wide.csv'), `${Array.from({ length: N }, (_, i) => `c${i}`).join(',')}\n${Array.from({ length: N }, (_, i) => String(i)).join(',')}\n`);
    const r = await runCli(cfg, 'import', path.join(dir, 'wide.csv'), '--to', `s3://${BUCKET}/imported/`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/partflow: \S*wide\.csv: record "\w+" has 40,000 fields, over the 32,767 one record can have here .*; each CSV column or JSON key is a field\n$/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
