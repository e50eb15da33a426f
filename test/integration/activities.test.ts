import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Schema, Type } from 'avsc';
import { DefaultLogger } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import fs from 'node:fs';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createActivities } from '../../activities';
import { ContainerEncoder, syncMarkerFor } from '../../src/avro/container';
import { loadSchema } from '../../src/avro/schemas';
import { PartitionResult } from '../../src/manifest/partition';
import { readAvroRecords } from '../../src/io/avro-object-reader';
import { IngestInput, resolveIngestInput } from '../../src/pipeline/input';
import { freePort } from '../../src/stack/process';
import { datasetPrefix } from '../../src/pipeline/layout';
import { Plan, PlanSummary } from '../../src/pipeline/plan';
import { PipelineRegistry } from '../../src/pipeline/registry';
import { PipelineDefinition } from '../../src/pipeline/types';
import { builtinPipelines } from '../../src/pipelines';
import { ensureBucket } from '../../src/stack/embedded';
import { createS3Client, s3Client } from '../../src/storage/client';
import { getObjectBuffer, listObjects, putIfAbsent, PreconditionFailedError } from '../../src/storage/objects';
import { faultyS3 } from '../helpers/faulty-s3';
import { testConfig } from '../helpers/stack';

/**
 * The partition activities called directly (Temporal's MockActivityEnvironment runs them with an
 * activity context) against the real S3 server, to pin down their error classification.
 */
const BUCKET = 'it-activities';
const cfg = testConfig('activities', BUCKET);
let s3: S3Client;
const schemasDir = path.join(__dirname, '../fixtures/schemas');
// Reads item sources as "tagged", which has a required field item lacks: resolution must fail.
const strict: PipelineDefinition = { name: 'strict', schemasDir, input: 'tagged@1', stages: [{ name: 'copy', schema: 'tagged@1', version: '1', transform: (r) => r }] };
const acts = () => createActivities({ config: cfg, s3, registry: new PipelineRegistry([...builtinPipelines, strict]) });
const env = () => new MockActivityEnvironment({ activityId: 'copy:p-00000', retryPolicy: { maximumAttempts: 3 } }, { logger: new DefaultLogger('ERROR') });

function itemFile(n: number): Buffer {
  const item = loadSchema('item@1', schemasDir);
  const enc = new ContainerEncoder(item.type, item.json, { codec: 'null', sync: syncMarkerFor(`items-${n}`) });
  const parts = [enc.header()];
  for (let i = 0; i < n; i++) parts.push(enc.add({ id: i, label: `l${i}` }) ?? Buffer.alloc(0));
  parts.push(enc.flush() ?? Buffer.alloc(0));
  return Buffer.concat(parts);
}

/** Items with a `price` too: item@1's next version, as a feed gains a field. */
function pricedItemFile(n: number, required = false): Buffer {
  const price = required ? { name: 'price', type: 'double' } : { name: 'price', type: ['null', 'double'], default: null };
  const schema = { type: 'record', name: 'Item', namespace: 'partflow.test', fields: [{ name: 'id', type: 'long' }, { name: 'label', type: 'string' }, price] };
  const enc = new ContainerEncoder(Type.forSchema(schema as Schema), JSON.stringify(schema), { codec: 'null', sync: syncMarkerFor(`priced-${n}`) });
  const parts = [enc.header()];
  for (let i = 0; i < n; i++) parts.push(enc.add({ id: i, label: `l${i}`, price: i + 0.5 }) ?? Buffer.alloc(0));
  parts.push(enc.flush() ?? Buffer.alloc(0));
  return Buffer.concat(parts);
}

async function planFor(pipeline: string, source: string, target: string, more: Partial<IngestInput> = {}): Promise<PlanSummary> {
  return env().run(acts().planIngest, resolveIngestInput({ pipeline, source: `s3://${BUCKET}/${source}`, target: `s3://${BUCKET}/${target}/`, ...more }));
}

async function stageError(plan: PlanSummary, index = 0): Promise<ApplicationFailure> {
  try {
    await env().run(acts().runStage, { bucket: plan.bucket, planKey: plan.planKey, stage: 'copy', index });
  } catch (err) {
    return err as ApplicationFailure;
  }
  throw new Error('expected the stage to fail');
}

beforeAll(async () => {
  s3 = s3Client(cfg.s3);
  await ensureBucket(s3, BUCKET);
});

describe('partition activity errors', () => {
  it('an input that changed since planning fails non-retryably, naming expected and actual checksums', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'changed/a.avro', Body: itemFile(3) }));
    const plan = await planFor('copy', 'changed/', 'out-changed');
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'changed/a.avro', Body: itemFile(4) }));
    const err = await stageError(plan);
    expect(err.type).toBe('InputChanged');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/stage "copy" partition p-[0-9a-f]{12} \(a\.avro\): source object s3:\/\/it-activities\/changed\/a\.avro changed since planning: expected checksum \(ETag\) \S+, found \S+/);
    const [, expected, actual] = /expected checksum \(ETag\) (\S+), found (\S+)/.exec(err.message)!;
    expect(expected).not.toBe(actual);
  });

  it('a missing input fails non-retryably, naming the key', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'missing/a.avro', Body: itemFile(3) }));
    const plan = await planFor('copy', 'missing/', 'out-missing');
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'missing/a.avro' }));
    const err = await stageError(plan);
    expect(err.type).toBe('InputMissing');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/stage "copy" partition p-[0-9a-f]{12} \(a\.avro\): input s3:\/\/it-activities\/missing\/a\.avro does not exist/);
  });

  it('an input that cannot be read with the expected schema fails as SchemaMismatch', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'schema/a.avro', Body: itemFile(3) }));
    const err = await stageError(await planFor('strict', 'schema/', 'out-schema'));
    expect(err.type).toBe('SchemaMismatch');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/stage "copy" partition p-[0-9a-f]{12} \(a\.avro\): input s3:\/\/it-activities\/schema\/a\.avro cannot be read with the expected schema: the reading record partflow\.test\.Tagged is not named partflow\.test\.Item/);
  });

  it('copy fails as SchemaMismatch, instead of dropping fields, when a packed object has fields the first one lacks', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'evolving/2024.avro', Body: itemFile(2) }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'evolving/2025.avro', Body: pricedItemFile(2) }));
    const packed = await planFor('copy', 'evolving/', 'out-evolving');
    expect(packed.partitions).toBe(1);
    const err = await stageError(packed);
    expect(err.type).toBe('SchemaMismatch');
    expect(err.nonRetryable).toBe(true);
    // The remedy comes first: a run keeps only the first 500 characters of a failure.
    expect(err.message).toMatch(/^stage "copy" partition p-[0-9a-f]{12} \([^)]+\): objects with different schemas were packed into one partition: ingest with --no-pack \("pack": false\)/);
    expect(err.message).toMatch(/Input s3:\/\/it-activities\/evolving\/2025\.avro has fields or enum symbols that this partition's output schema, taken from its first input s3:\/\/it-activities\/evolving\/2024\.avro, lacks: price; writing it would drop them$/);

    // One partition per object: each output keeps its object's schema, and every price is there.
    const apart = await planFor('copy', 'evolving/', 'out-evolving-apart', { pack: false });
    expect(apart.partitions).toBe(2);
    const counts = [];
    for (const index of [0, 1]) counts.push(((await env().run(acts().runStage, { bucket: apart.bucket, planKey: apart.planKey, stage: 'copy', index })) as PartitionResult).counts);
    expect(counts).toEqual([expect.objectContaining({ in: 2, out: 2 }), expect.objectContaining({ in: 2, out: 2 })]);
  });

  it('copy fails as SchemaMismatch, saying why, when a packed object lacks a field the first one has without a default', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'required-first/a.avro', Body: pricedItemFile(2, true) }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'required-first/b.avro', Body: itemFile(3) }));
    const err = await stageError(await planFor('copy', 'required-first/', 'out-required-first'));
    expect(err.type).toBe('SchemaMismatch');
    expect(err.message).toMatch(/: objects with different schemas were packed into one partition: ingest with --no-pack[^]*Input s3:\/\/it-activities\/required-first\/b\.avro cannot be read with the expected schema, this partition's output schema, taken from its first input s3:\/\/it-activities\/required-first\/a\.avro: field price: the data has no such field, and the reading schema gives it no default$/);
  });

  it('a corrupt object packed with good ones fails the partition naming it, and says that --no-pack fails it alone', async () => {
    const corrupt = itemFile(3);
    corrupt[corrupt.length - 5] ^= 0x55; // inside the sync marker after the last block
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'corrupt-pack/a.avro', Body: itemFile(2) }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'corrupt-pack/b.avro', Body: corrupt }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'corrupt-pack/c.avro', Body: itemFile(4) }));
    const packed = await planFor('copy', 'corrupt-pack/', 'out-corrupt-pack');
    expect(packed.partitions).toBe(1);
    const err = await stageError(packed);
    expect(err.type).toBe('CorruptInput');
    expect(err.message).toMatch(/^stage "copy" partition p-[0-9a-f]{12} \([^)]+\): corrupt input: s3:\/\/it-activities\/corrupt-pack\/b\.avro: .*\. It is one of 3 source objects packed into this partition, which all fail with it: ingest with --no-pack \("pack": false\) to give each object its own partition, so that only this one fails, or remove or fix it/);

    // One partition per object: only the corrupt one fails, and its failure says nothing of packing.
    const apart = await planFor('copy', 'corrupt-pack/', 'out-corrupt-apart', { pack: false });
    expect(apart.partitions).toBe(3);
    const alone = await stageError(apart, 1);
    expect(alone.type).toBe('CorruptInput');
    expect(alone.message).toMatch(/\(b\.avro\): corrupt input: s3:\/\/it-activities\/corrupt-pack\/b\.avro: /);
    expect(alone.message).not.toContain('packed');
    for (const index of [0, 2]) expect(await env().run(acts().runStage, { bucket: apart.bucket, planKey: apart.planKey, stage: 'copy', index })).toMatchObject({ status: 'done' });
  });

  it('copy packs an object with fewer fields behind one with more: the missing field takes its default', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'older-last/a.avro', Body: pricedItemFile(2) }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'older-last/b.avro', Body: itemFile(3) }));
    const plan = await planFor('copy', 'older-last/', 'out-older-last');
    const res = await env().run(acts().runStage, { bucket: plan.bucket, planKey: plan.planKey, stage: 'copy', index: 0 });
    expect(res).toMatchObject({ status: 'done', counts: { in: 5, out: 5 } });
  });

  it('copy keeps the null records of a schema such as ["null", "int"] instead of dropping them', async () => {
    // The Apache Avro C implementation's avro-1237-good.avro holds null and 100.
    const schema = ['null', 'int'];
    const enc = new ContainerEncoder(Type.forSchema(schema as Schema), JSON.stringify(schema), { codec: 'null', sync: syncMarkerFor('nullable') });
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'nullable/a.avro', Body: Buffer.concat([enc.header(), enc.add(null) ?? Buffer.alloc(0), enc.add(100) ?? Buffer.alloc(0), enc.flush() ?? Buffer.alloc(0)]) }));
    const plan = await planFor('copy', 'nullable/', 'out-nullable');
    const res = (await env().run(acts().runStage, { bucket: plan.bucket, planKey: plan.planKey, stage: 'copy', index: 0 })) as PartitionResult;
    expect(res.counts).toEqual({ in: 2, out: 2, rejected: 0, dropped: 0 });
    const records = [];
    for await (const { record } of readAvroRecords(s3, BUCKET, res.outputKey!)) records.push(record);
    expect(records).toEqual([null, 100]);
  });

  it('a flat record the raw schema cannot hold is a reject keeping its exact JSON text, a bigint too', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'wide/a.jsonl', Body: '{"n": 1152921504606846976, "s": "x"}\n{"n": 1, "s": "y"}\n' }));
    const plan = await planFor('copy', 'wide/', 'out-wide');
    // The inferred schema fits every record; one edited to take an int for n does not fit the first.
    const saved = JSON.parse((await getObjectBuffer(s3, plan.bucket, plan.planKey)).toString('utf8')) as Plan;
    expect(saved.rawSchemas[0].json).toContain('["null","long"]');
    saved.rawSchemas[0].json = saved.rawSchemas[0].json.replace('["null","long"]', '["null","int"]');
    await s3.send(new PutObjectCommand({ Bucket: plan.bucket, Key: plan.planKey, Body: JSON.stringify(saved) }));
    const res = (await env().run(acts().importPartition, { bucket: plan.bucket, planKey: plan.planKey, index: 0 })) as PartitionResult;
    expect(res.counts).toEqual({ in: 2, out: 1, rejected: 1, dropped: 0 });
    const [rejects] = (await listObjects(s3, BUCKET, 'out-wide/')).filter((o) => o.key.endsWith('.rejects.avro'));
    const rows: { index: number; reason: string; record: string }[] = [];
    for await (const { record } of readAvroRecords(s3, BUCKET, rejects.key)) rows.push(record as never);
    expect(rows).toEqual([expect.objectContaining({ index: 0, reason: expect.stringMatching(/^does not fit the raw schema: /), record: '{"n":1152921504606846976,"s":"x"}' })]);
  });

  it("a later attempt that commits without spilling deletes an earlier attempt's rejects spill; a first one does not even look", async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'spilled/a.jsonl', Body: '{"n": 1}\n{"n": 2}\n' }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'spilled/b.jsonl', Body: '{"m": 1}\n' }));
    const plan = await planFor('copy', 'spilled/', 'out-spilled', { pack: false });
    const saved = JSON.parse((await getObjectBuffer(s3, plan.bucket, plan.planKey)).toString('utf8')) as Plan;
    const checkpoints = (k: number) => `${datasetPrefix(saved.targetPrefix, saved.dataset)}/_checkpoints/raw/${saved.partitions[k].id}/${saved.partitions[k].rawVersion}/`;
    const lists: string[] = [];
    const counting = faultyS3(cfg.s3, () => (cmd) => {
      if (cmd instanceof ListObjectsV2Command) lists.push(cmd.input.Prefix ?? '');
      return undefined;
    });
    const run = (index: number, attempt: number) => new MockActivityEnvironment({ activityId: `raw:p-${index}`, attempt, retryPolicy: { maximumAttempts: 3 } }, { logger: new DefaultLogger('ERROR') })
      .run(createActivities({ config: cfg, s3: counting, registry: new PipelineRegistry(builtinPipelines) }).importPartition, { bucket: plan.bucket, planKey: plan.planKey, index });
    try {
      // Attempt 1 spilled rejects at a checkpoint and died; attempt 2 never got that checkpoint (or
      // found its uploads gone), started over and had nothing to spill itself.
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${checkpoints(0)}a1-1.rejects`, Body: 'rejects set aside' }));
      expect(await run(0, 2)).toMatchObject({ status: 'done', counts: { in: 2, out: 2 } });
      expect(await listObjects(s3, BUCKET, checkpoints(0))).toEqual([]);
      lists.length = 0;
      expect(await run(1, 1)).toMatchObject({ status: 'done', counts: { in: 1, out: 1 } });
      expect(lists.filter((p) => p.includes('/_checkpoints/'))).toEqual([]);
    } finally {
      counting.destroy();
    }
  });

  it('planning fails at once, naming bucket, endpoint and what to check, when the bucket is missing or S3 refuses the keys', async () => {
    const input = (bucket: string) => resolveIngestInput({ pipeline: 'copy', source: `s3://${bucket}/x/`, target: `s3://${BUCKET}/out-refused/` });
    const planError = async (a: ReturnType<typeof acts>, bucket: string) => env().run(a.planIngest, input(bucket)).then(() => undefined, (err: ApplicationFailure) => err);
    const missing = await planError(acts(), 'no-such-bucket-pf');
    expect(missing).toMatchObject({ type: 'InputMissing', nonRetryable: true });
    expect(missing!.message).toBe(`planning s3://no-such-bucket-pf/x/ into s3://${BUCKET}/out-refused/: the bucket "no-such-bucket-pf" does not exist at ${cfg.s3.endpoint}`);

    const ep = cfg.s3.endpoint!.replace(/[.]/g, '\\.');
    const refusedWith = async (s3: typeof cfg.s3) => planError(createActivities({ config: { ...cfg, s3 }, s3: createS3Client(s3), registry: new PipelineRegistry(builtinPipelines) }), BUCKET);
    const refused = await refusedWith({ ...cfg.s3, secretAccessKey: 'not-the-secret', credentials: 'static' });
    expect(refused).toMatchObject({ type: 'AccessDenied', nonRetryable: true });
    expect(refused!.message).toMatch(new RegExp(`^planning s3://${BUCKET}/x/ into .*: S3 at ${ep} refused the credentials of access key ID ${cfg.s3.accessKeyId} \\(SignatureDoesNotMatch: .*; credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY from the environment\\): the secret key does not match`));
    expect(refused!.message).not.toContain('not-the-secret');
    // versitygw answers a key it does not know with a 404 (XAdminUserNotFound): refused credentials all the same.
    const unknown = await refusedWith({ ...cfg.s3, accessKeyId: 'nobody-here', credentials: 'static' });
    expect(unknown).toMatchObject({ type: 'AccessDenied', nonRetryable: true });
    expect(unknown!.message).toMatch(new RegExp(`^planning s3://${BUCKET}/x/ into .*: S3 at ${ep} refused the credentials of access key ID nobody-here \\(XAdminUserNotFound: .*\\): the server does not know this access key ID`));
    // With many workers on a task queue, only the one whose credentials are refused needs fixing: the failure names it.
    expect(unknown!.message.endsWith(` (on worker ${process.pid}@${os.hostname()})`)).toBe(true);

    // Nothing listens there: retryable (a server may be starting), but it says which endpoint and setting.
    const closed = { ...cfg, s3: { ...cfg.s3, endpoint: `http://127.0.0.1:${await freePort()}` } };
    const unreachableActs = createActivities({ config: closed, s3: createS3Client(closed.s3), registry: new PipelineRegistry(builtinPipelines) });
    const unreachable = await planError(unreachableActs, BUCKET);
    expect(unreachable).toMatchObject({ type: 'StoreUnreachable', nonRetryable: false });
    expect(unreachable!.message).toMatch(new RegExp(`^planning s3://${BUCKET}/x/ into .*: cannot reach the S3 endpoint at ${closed.s3.endpoint.replace(/[.]/g, '\\.')} \\(.*ECONNREFUSED.*\\); check AWS_ENDPOINT_URL_S3.* \\(on worker ${process.pid}@`));

    // A region the server does not take, and an endpoint that is no S3 API: a setting, so not retried.
    const answers: Record<string, string> = {
      region: '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AuthorizationHeaderMalformed</Code><Message>The authorization header is malformed; the region is wrong; expecting &#39;eu-central-1&#39;.</Message><Region>eu-central-1</Region></Error>',
      console: '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidArgument</Code><Message>S3 API Requests must be made to API port.</Message></Error>',
    };
    for (const [kind, body] of Object.entries(answers)) {
      const server = http.createServer((req, res) => req.resume().on('end', () => res.writeHead(400, { 'content-type': 'application/xml' }).end(body)));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      try {
        const wrong = { ...cfg, s3: { ...cfg.s3, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` } };
        const failed = await planError(createActivities({ config: wrong, s3: createS3Client(wrong.s3), registry: new PipelineRegistry(builtinPipelines) }), BUCKET);
        expect(failed).toMatchObject({ type: kind === 'region' ? 'WrongRegion' : 'NotS3Endpoint', nonRetryable: true });
        expect(failed!.message).toMatch(kind === 'region'
          ? /^planning s3:\/\/.*: S3 at http:\/\/127\.0\.0\.1:\d+ refused the request for its region: .*us-east-1 .*expecting 'eu-central-1'.*: set AWS_REGION to eu-central-1 \(on worker \d+@.*\)$/
          : /^planning s3:\/\/.*: the S3 endpoint http:\/\/127\.0\.0\.1:\d+ answered .*MinIO's console port.*check AWS_ENDPOINT_URL_S3/);
      } finally {
        server.close();
      }
    }
  });

  it('a partition attempt whose credentials S3 refuses (keys rotated after the worker started) names the worker it ran on, once', async () => {
    const s3cfg = { ...cfg.s3, accessKeyId: 'rotated-away', credentials: 'static' as const };
    const a = createActivities({ config: { ...cfg, s3: s3cfg }, s3: createS3Client(s3cfg), registry: new PipelineRegistry(builtinPipelines) });
    const err = await env().run(a.runStage, { bucket: BUCKET, planKey: 'plans/none.json', stage: 'copy', index: 0 }).then(() => undefined, (e: ApplicationFailure) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err!.message).toMatch(/refused the credentials of access key ID rotated-away \(XAdminUserNotFound: /);
    expect(err!.message.endsWith(` (on worker ${process.pid}@${os.hostname()})`)).toBe(true);
    expect(err!.message.split('(on worker ').length).toBe(2);
  });

  it('runs again after success as a reuse, without recomputing; in the run that committed it, as its own result', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'twice/a.avro', Body: itemFile(5) }));
    const plan = await planFor('copy', 'twice/', 'out-twice');
    const req = { bucket: plan.bucket, planKey: plan.planKey, stage: 'copy', index: 0 };
    const runEnv = (workflowId: string, attempt: number) => new MockActivityEnvironment({ activityId: 'copy:p-00000', attempt, workflowExecution: { workflowId, runId: `${workflowId}-run` } }, { logger: new DefaultLogger('ERROR') });
    const first = await runEnv('ingest-a', 1).run(acts().runStage, req);
    const second = await runEnv('ingest-b', 1).run(acts().runStage, req);
    expect(first).toMatchObject({ status: 'done', counts: { in: 5, out: 5 } });
    expect(second).toMatchObject({ status: 'skipped', counts: { in: 5, out: 5 }, durationMs: 0, computedBy: { workflowId: 'ingest-a' } });
    // The first run's next attempt, as after a worker killed between commit and completion: its own work, not a reuse.
    const again = await runEnv('ingest-a', 2).run(acts().runStage, req);
    expect(again).toMatchObject({ status: 'done', counts: { in: 5, out: 5 }, durationMs: (first as PartitionResult).durationMs, attempt: 2 });
  });
});

describe('schema attributes beyond the canonical form', () => {
  it('a stage whose output schema changes only a default, or whose reader schema only gains an alias, recomputes instead of reusing', async () => {
    // Neither change shows in the schema fingerprint (the Parsing Canonical Form drops both).
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'schema-extras-'));
    const write = (name: string, v: number, fields: unknown[]) => {
      fs.mkdirSync(path.join(dir, name), { recursive: true });
      fs.writeFileSync(path.join(dir, name, `v${v}.avsc`), JSON.stringify({ type: 'record', name: 'Item', namespace: 'partflow.test', fields: [{ name: 'id', type: 'long' }, ...fields] }));
    };
    write('priced', 1, [{ name: 'label', type: 'string' }, { name: 'currency', type: 'string', default: 'EUR' }]);
    write('priced', 2, [{ name: 'label', type: 'string' }, { name: 'currency', type: 'string', default: 'GBP' }]);
    write('renamed', 1, [{ name: 'title', type: 'string', default: '?' }]);
    write('renamed', 2, [{ name: 'title', type: 'string', default: '?', aliases: ['label'] }]);
    let runs = 0;
    const run = async (reader: number, output: number) => {
      const def: PipelineDefinition = {
        name: 'evolving', schemasDir: dir, input: `renamed@${reader}`,
        stages: [{ name: 'copy', schema: `priced@${output}`, version: '1', transform: (r: { id: number; title: string }) => ({ id: r.id, label: r.title }) }],
      };
      const a = createActivities({ config: cfg, s3, registry: new PipelineRegistry([def]) });
      const plan: PlanSummary = await env().run(a.planIngest, resolveIngestInput({ pipeline: 'evolving', source: `s3://${BUCKET}/schema-extras/`, target: `s3://${BUCKET}/out-schema-extras/` }));
      // Each its own run: a run that committed a partition gets it back as its own work, not as a reuse.
      const runEnv = new MockActivityEnvironment({ activityId: 'copy:p-00000', workflowExecution: { workflowId: `evolving-${++runs}`, runId: `evolving-${runs}-run` } }, { logger: new DefaultLogger('ERROR') });
      const res = (await runEnv.run(a.runStage, { bucket: plan.bucket, planKey: plan.planKey, stage: 'copy', index: 0 })) as PartitionResult;
      const records: unknown[] = [];
      // Plain values: the reader may give avsc's record objects, with their methods.
      for await (const { record } of readAvroRecords(s3, BUCKET, res.outputKey)) {
        const { id, label, currency } = record as Record<string, unknown>;
        records.push({ id, label, currency });
      }
      return { status: res.status, records };
    };
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'schema-extras/a.avro', Body: itemFile(2) }));
    try {
      expect(await run(1, 1)).toEqual({ status: 'done', records: [{ id: 0, label: '?', currency: 'EUR' }, { id: 1, label: '?', currency: 'EUR' }] });
      expect(await run(1, 1)).toMatchObject({ status: 'skipped' });
      expect(await run(1, 2)).toEqual({ status: 'done', records: [{ id: 0, label: '?', currency: 'GBP' }, { id: 1, label: '?', currency: 'GBP' }] });
      expect(await run(2, 2)).toEqual({ status: 'done', records: [{ id: 0, label: 'l0', currency: 'GBP' }, { id: 1, label: 'l1', currency: 'GBP' }] });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('create-only writes', () => {
  afterEach(() => {
    delete process.env.PARTFLOW_CONDITIONAL_WRITES;
  });

  it.each(['auto', 'off'])('never replace an existing object (PARTFLOW_CONDITIONAL_WRITES=%s)', async (mode) => {
    process.env.PARTFLOW_CONDITIONAL_WRITES = mode;
    const key = `create-only/${mode}.json`;
    await putIfAbsent(s3, BUCKET, key, 'first');
    await expect(putIfAbsent(s3, BUCKET, key, 'second')).rejects.toBeInstanceOf(PreconditionFailedError);
    const body = await (await s3.send(new (await import('@aws-sdk/client-s3')).GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToString();
    expect(body).toBe('first');
  });

  it('refuses a bad setting', async () => {
    process.env.PARTFLOW_CONDITIONAL_WRITES = 'maybe';
    await expect(putIfAbsent(s3, BUCKET, 'create-only/x', 'x')).rejects.toThrow(/PARTFLOW_CONDITIONAL_WRITES must be auto, on or off/);
  });
});
